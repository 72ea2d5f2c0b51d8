"""Regrade saved trials without rerunning agents.

Check verdicts come from the evidence captured at verify time (the environment, and any
state that lived in a sidecar, is gone; the evidence is what the agent left). Compliance
and the rubric are evaluated again, the rubric through the judge and its cache. The
previous verifier outputs move to `verifier/history/<timestamp>/`; the new ones record
their provenance (grader version, judge model, when).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import grading
from grading.grader import GradingInput, Judge, grade
from opsbench.errors import OpsbenchError
from opsbench.models.provider import ProviderSettings
from opsbench.models.result import Outcome, TrialResult
from opsbench.models.spec import TaskSpec
from opsbench.models.trajectory import load_trajectory, write_json_atomic
from opsbench.models.verdict import Evidence, Provenance, read_evidence
from opsbench.paths import JobPaths, SuitePaths, TrialPaths
from opsbench.results import read_result
from opsbench.sandbox import read_commands
from opsbench.trial.verify import make_judge, write_verifier_outputs


@dataclass
class RegradeReport:
    regraded: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)


def find_jobs(root: Path, job_name: str | None) -> list[JobPaths]:
    """`root` is a job dir, or a suite/jobs dir holding jobs. An unknown name is an error."""
    if JobPaths(root).config.is_file():
        jobs = [JobPaths(root)]
    else:
        jobs = [j for j in SuitePaths(root).jobs() if j.config.is_file()]
    if not jobs:
        raise OpsbenchError(f"{root}: no job here (a job dir has a config.json)")
    if job_name is None:
        return jobs
    chosen = [j for j in jobs if j.name == job_name]
    if not chosen:
        names = ", ".join(j.name for j in jobs)
        raise OpsbenchError(f"--job-name: no job {job_name!r} in {root}; jobs there: {names}")
    return chosen


def regrade_job(
    job: JobPaths,
    task_names: list[str],
    judge_model: str | None,
    report: RegradeReport,
    now: datetime | None = None,
) -> None:
    # Only the judge's settings matter here: read them alone, so a config written by
    # another opsbench version still regrades.
    config = json.loads(job.config.read_text())
    model = judge_model or config.get("judge_model")
    settings = ProviderSettings.model_validate(config.get("provider_settings") or {})
    judge = make_judge(model, job, settings)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    for trial_dir in job.trial_dirs():
        paths = TrialPaths(trial_dir)
        name = f"{job.name}/{trial_dir.name}"
        result = read_result(paths).result
        if result is None:
            report.skipped[name] = "no readable result.json"
            continue
        if task_names and result.task_id not in task_names:
            continue
        if result.outcome != Outcome.GRADED:
            report.skipped[name] = f"outcome {result.outcome.value} (only graded trials regrade)"
            continue
        if not paths.evidence.is_file():
            report.skipped[name] = "no evidence captured at verify time"
            continue
        try:
            evidence = read_evidence(paths.evidence)
        except (OSError, ValueError) as exc:
            report.skipped[name] = f"unreadable evidence: {str(exc).splitlines()[0]}"
            continue
        spec = _spec_for(paths, result, evidence)
        if spec is None:
            report.skipped[name] = "its task changed since and the evidence has no spec copy"
            continue
        if _regrade_trial(paths, result, spec, evidence, judge, model, stamp):
            report.changed.append(name)
        report.regraded.append(name)


def _spec_for(paths: TrialPaths, result: TrialResult, evidence: Evidence) -> TaskSpec | None:
    """The spec the trial was graded against: its evidence copy, else the compiled task if
    it has not changed since (same checksum)."""
    if evidence.spec is not None:
        return evidence.spec
    from opsbench.compile import read_task_checksum
    from opsbench.paths import TaskPaths

    task = TaskPaths(Path(json.loads(paths.config.read_text())["task_dir"]))
    try:
        if read_task_checksum(task) == result.task_checksum:
            return TaskSpec.model_validate_json(task.spec_json.read_text())
    except OSError:
        pass
    return None


def _regrade_trial(
    paths: TrialPaths,
    result: TrialResult,
    spec: TaskSpec,
    evidence: Evidence,
    judge: Judge | None,
    model: str | None,
    stamp: str,
) -> bool:
    graded = grade(
        GradingInput(
            spec=spec,
            commands=read_commands(paths.commands),
            trajectory=load_trajectory(paths.trajectory),
            exec=None,
            saved_evidence=evidence,
            judge=judge,
        )
    )
    history = paths.history / stamp
    history.mkdir(parents=True, exist_ok=True)
    for f in (paths.reward_txt, paths.reward_json, paths.grading_details, paths.evidence):
        if f.is_file():
            shutil.copy2(f, history / f.name)
    provenance = Provenance(
        grader_version=grading.GRADER_VERSION,
        judge_model=model,
        regraded_at=datetime.now(UTC).isoformat(),
        previous=f"history/{stamp}",
    )
    graded.details = graded.details.model_copy(update={"provenance": provenance})
    write_verifier_outputs(paths, graded)
    rewards = graded.details.score
    changed = rewards != result.rewards
    result.rewards = rewards
    result.diagnostics = graded.details.diagnostics
    result.extra = {**result.extra, "regraded_at": provenance.regraded_at}
    write_json_atomic(paths.result, result.model_dump(mode="json"))
    return changed
