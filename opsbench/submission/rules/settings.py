"""Unmodified settings: no resource override, no timeout multiplier or timeout setting,
in the job's config and in every trial's."""

from __future__ import annotations

from typing import Any

from opsbench.models.job import JobConfig
from opsbench.models.release import ReleaseManifest
from opsbench.models.trial import TrialConfig
from opsbench.submission.load import Package
from opsbench.submission.verdicts import Problem, RuleVerdict, verdict


def check_settings(pkg: Package, release: ReleaseManifest) -> RuleVerdict:
    problems = []
    for job in pkg.jobs:
        problems += [Problem(file=job.config.rel, message=e) for e in job.config.errors]
        if job.config.value is not None:
            problems += _overrides(job.config.rel, job.config.value)
        for trial in job.trials:
            if trial.config.value is not None:
                problems += _overrides(trial.config.rel, trial.config.value)
                problems += _same_variant(trial.config.rel, trial.config.value, job.config.value)
    return verdict("settings", "no timeout, resource or attempt override", problems)


def _overrides(file: str, cfg: JobConfig | TrialConfig) -> list[Problem]:
    found = []
    if cfg.override_cpus is not None:
        found.append(Problem(file=file, message=f"override_cpus is {cfg.override_cpus}"))
    if cfg.override_memory_mb is not None:
        found.append(Problem(file=file, message=f"override_memory_mb is {cfg.override_memory_mb}"))
    if cfg.agent_timeout_multiplier != 1.0:
        found.append(
            Problem(
                file=file,
                message=f"agent_timeout_multiplier is {cfg.agent_timeout_multiplier} (must be 1.0)",
            )
        )
    found += [
        Problem(file=file, message=f"agent_kwargs.{key} sets a timeout")
        for key in _timeout_keys(cfg.agent_kwargs)
    ]
    return found


def _timeout_keys(kwargs: dict[str, Any]) -> list[str]:
    return sorted(k for k in kwargs if "timeout" in k.lower() or "deadline" in k.lower())


def _same_variant(file: str, trial: TrialConfig, job: JobConfig | None) -> list[Problem]:
    if job is None:
        return []
    v = job.variant
    if (trial.agent, trial.model, trial.reasoning_effort) != (v.agent, v.model, v.reasoning_effort):
        return [
            Problem(
                file=file,
                message=f"ran {trial.agent} / {trial.model} / {trial.reasoning_effort}; the job "
                f"is {v.agent} / {v.model} / {v.reasoning_effort}",
            )
        ]
    return []
