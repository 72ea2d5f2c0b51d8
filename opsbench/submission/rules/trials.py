"""Trials: finished (a valid `result.json` that agrees with its directory), none left as an
evaluation artifact, and every passing one with the record it can be checked against."""

from __future__ import annotations

from opsbench.failures import POLICY
from opsbench.models.release import ReleaseManifest
from opsbench.models.result import Outcome
from opsbench.models.trajectory import Trajectory
from opsbench.submission.files import Unreadable
from opsbench.submission.load import Package, Trial
from opsbench.submission.verdicts import Problem, RuleVerdict, verdict

LEFT_OUT = sorted(o.value for o, p in POLICY.items() if p.rerun_on_resume)
"""provider_error, infra_error, cancelled: rerun them (resume does) before submitting."""


def check_outcomes(pkg: Package, release: ReleaseManifest) -> RuleVerdict:
    problems = []
    for trial in pkg.trials:
        result = trial.result.value
        if result is not None and POLICY[result.outcome].rerun_on_resume:
            problems.append(
                Problem(
                    file=trial.result.rel,
                    message=f"outcome {result.outcome.value}: rerun it (resume the job)",
                )
            )
    return verdict("outcomes", f"no trial left as {', '.join(LEFT_OUT)}", problems)


def check_artifacts(pkg: Package, release: ReleaseManifest) -> RuleVerdict:
    problems = []
    for trial in pkg.trials:
        problems += [Problem(file=trial.result.rel, message=e) for e in trial.result.errors]
        problems += [Problem(file=trial.config.rel, message=e) for e in trial.config.errors]
        result = trial.result.value
        if result is None:
            continue
        problems += _identity(trial)
        if result.outcome is Outcome.GRADED:
            problems += _required(pkg, trial, _graded_files(trial))
        if trial.passed:
            problems += _required(pkg, trial, [trial.files.commands])
            problems += _trajectory(pkg, trial)
    return verdict(
        "artifacts",
        "every trial has a valid result.json; graded ones their verifier record, "
        "passing ones their trajectory",
        problems,
    )


def _identity(trial: Trial) -> list[Problem]:
    r = trial.result.value
    assert r is not None
    if (r.trial_name, r.task_id, r.attempt) != (trial.name, trial.task_id, trial.attempt):
        return [
            Problem(
                file=trial.result.rel,
                message=f"says trial {r.trial_name} (task {r.task_id}, attempt {r.attempt}) "
                f"but sits in {trial.name}",
            )
        ]
    if r.job_name and r.job_name != trial.job:
        return [
            Problem(file=trial.result.rel, message=f"says job {r.job_name} but sits in {trial.job}")
        ]
    if r.outcome is Outcome.GRADED and r.rewards is None:
        return [Problem(file=trial.result.rel, message="graded, but carries no rewards")]
    return []


def _graded_files(trial: Trial) -> list[str]:
    return [
        trial.files.reward_json,
        trial.files.reward_txt,
        trial.files.grading_details,
        trial.files.evidence,
    ]


def _required(pkg: Package, trial: Trial, names: list[str]) -> list[Problem]:
    return [Problem(file=n, message="missing") for n in names if not pkg.files.has(n)]


def _trajectory(pkg: Package, trial: Trial) -> list[Problem]:
    name = trial.files.trajectory
    try:
        pkg.files.read_model(name, Trajectory)
    except Unreadable as exc:
        return [Problem(file=name, message=f"passing trial without its trajectory: {exc}")]
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        return [Problem(file=name, message=f"not a valid ATIF trajectory ({first})")]
    return []
