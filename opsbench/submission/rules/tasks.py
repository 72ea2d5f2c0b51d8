"""Conformity to the release: its tasks (all of them, unchanged, nothing else), its
minimum attempts, its grader."""

from __future__ import annotations

from collections import Counter

import grading
from opsbench.models.release import ReleaseManifest
from opsbench.submission.files import Unreadable
from opsbench.submission.load import Package, Trial
from opsbench.submission.verdicts import Problem, RuleVerdict, verdict


def check_tasks(pkg: Package, release: ReleaseManifest) -> RuleVerdict:
    problems = []
    present = {t.task_id for t in pkg.trials}
    for task in release.tasks:
        if task.id not in present:
            problems.append(Problem(file=".", message=f"task {task.id} of the release is missing"))
    known = {t.id for t in release.tasks}
    for task_id in sorted(present - known):
        problems.append(Problem(file=".", message=f"task {task_id} is not in the release"))
    for trial in pkg.trials:
        expected = release.task(trial.task_id)
        if expected is not None:
            problems += _checksums(trial, expected.checksum)
            problems += _graded_spec(pkg, trial, expected.spec_sha256)
    return verdict(
        "tasks",
        "every task of the release is present, with matching checksums, and no other",
        problems,
    )


def _checksums(trial: Trial, checksum: str) -> list[Problem]:
    found = []
    for parsed in (trial.result, trial.config):
        value = parsed.value
        if value is not None and value.task_checksum != checksum:
            found.append(
                Problem(
                    file=parsed.rel,
                    message=f"task checksum {value.task_checksum} is not the release's {checksum}",
                )
            )
    return found


def _graded_spec(pkg: Package, trial: Trial, digest: str) -> list[Problem]:
    """The spec copy the evidence carries is the one its rewards are recomputed with."""
    if not pkg.files.has(trial.files.evidence):
        return []  # `artifacts` reports a graded trial without evidence
    if pkg.graded_spec(trial).digest != digest:
        why = "graded against a spec that is not the release's"
        return [Problem(file=trial.files.evidence, message=why)]
    return []


def check_attempts(pkg: Package, release: ReleaseManifest) -> RuleVerdict:
    need = release.min_attempts
    problems = []
    per_task = Counter(t.task_id for t in pkg.trials if t.result.value is not None)
    for task in release.tasks:
        n = per_task.get(task.id, 0)
        if 0 < n < need:
            problems.append(
                Problem(file=".", message=f"task {task.id}: {n} finished attempt(s), {need} needed")
            )
    for job in pkg.jobs:
        cfg = job.config.value
        if cfg is not None and cfg.variant.n_attempts < need:
            problems.append(
                Problem(
                    file=job.config.rel,
                    message=f"n_attempts is {cfg.variant.n_attempts}; the release needs {need}",
                )
            )
    return verdict("attempts", f"at least {need} attempts per task", problems)


def check_grader_version(pkg: Package, release: ReleaseManifest) -> RuleVerdict:
    problems = []
    if release.grader_version != grading.GRADER_VERSION:
        problems.append(
            Problem(
                file=".",
                message=f"the release was graded by grader {release.grader_version}; this "
                f"validator runs grader {grading.GRADER_VERSION} (use the release's opsbench)",
            )
        )
    for trial in pkg.trials:
        details = trial.files.grading_details
        if not pkg.files.has(details):
            continue
        try:
            data = pkg.files.read_json(details)
        except Unreadable:
            continue
        provenance = data.get("provenance") if isinstance(data, dict) else None
        version = provenance.get("grader_version") if isinstance(provenance, dict) else None
        if version is not None and str(version) != release.grader_version:
            problems.append(Problem(file=details, message=f"regraded by grader {version}"))
    notes = ["a task checksum covers the grader version, so `tasks` checks it per trial too"]
    return verdict(
        "grader-version",
        f"graded by the release's grader ({release.grader_version})",
        problems,
        notes,
    )
