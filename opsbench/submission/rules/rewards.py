"""Rewards recompute from the saved evidence: `result.json`, `verifier/reward.json` and
`verifier/reward.txt` must say what the grader's scoring says about the saved record."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from opsbench.models.release import ReleaseManifest
from opsbench.models.result import Outcome, Rewards
from opsbench.models.trajectory import Trajectory
from opsbench.sandbox import read_commands
from opsbench.submission.files import Unreadable
from opsbench.submission.load import Package, Trial
from opsbench.submission.recompute import CannotRecompute, SavedRecord, rewards_from
from opsbench.submission.verdicts import Problem, RuleVerdict, verdict

FIELDS = ("task", "compliance", "passed", "partial")


@dataclass
class Recheck:
    recomputed: bool
    problems: list[Problem] = field(default_factory=list)


def check_rewards(pkg: Package, release: ReleaseManifest) -> RuleVerdict:
    problems: list[Problem] = []
    checked = 0
    for trial in pkg.trials:
        result = trial.result.value
        if result is None or result.outcome is not Outcome.GRADED or result.rewards is None:
            continue
        task = release.task(trial.task_id)
        if task is None:
            continue  # `tasks` reports it; there is no trusted spec to grade with
        found = _recheck(pkg, trial, result.rewards, task.spec_sha256)
        checked += found.recomputed
        problems += found.problems
    notes = [f"{checked} graded trial(s) recomputed from their saved evidence"]
    return verdict("rewards", "rewards recompute from the saved evidence", problems, notes)


def _recheck(pkg: Package, trial: Trial, claimed: Rewards, digest: str) -> Recheck:
    f = trial.files
    for name in (f.evidence, f.grading_details):
        if not pkg.files.has(name):
            return Recheck(False, [Problem(file=name, message="missing: cannot recompute")])
    for name in (f.commands, f.trajectory):
        if name in pkg.files.symlinks:
            return Recheck(False, [Problem(file=name, message="a symlink: not read")])
    graded = pkg.graded_spec(trial)
    if graded.spec is None or graded.digest != digest:
        why = "no release spec to recompute with"
        return Recheck(False, [Problem(file=f.evidence, message=why)])
    try:
        evidence = pkg.files.read_json(f.evidence)
        recomputed = rewards_from(_saved_record(pkg, trial, evidence), graded.spec)
    except (Unreadable, CannotRecompute) as exc:
        why = f"cannot recompute the rewards: {exc}"
        return Recheck(False, [Problem(file=trial.rel, message=why)])
    problems = _compare(trial.result.rel, claimed.model_dump(), recomputed)
    problems += _compare_file(pkg, trial.files.reward_json, recomputed)
    problems += _compare_txt(pkg, trial.files.reward_txt, recomputed)
    return Recheck(True, problems)


def _saved_record(pkg: Package, trial: Trial, evidence: dict[str, Any]) -> SavedRecord:
    """The trial's record from the package's shared reads (each file read once)."""
    details = pkg.files.read_json(trial.files.grading_details)
    if not isinstance(details, dict):
        raise CannotRecompute(f"{trial.files.grading_details} is not a JSON object")
    name = trial.files.commands
    commands = read_commands(pkg.root / name) if pkg.files.has(name) else []
    try:
        trajectory = pkg.files.read_model(trial.files.trajectory, Trajectory)
    except (Unreadable, ValueError):
        trajectory = None  # as the grader had it: `load_trajectory` gives None
    return SavedRecord(evidence, details, commands, trajectory)


def _differences(claimed: dict[str, Any], recomputed: Rewards) -> list[str]:
    diffs = []
    reward = claimed.get("reward")
    if not isinstance(reward, int | float) or not math.isclose(
        float(reward), recomputed.reward, abs_tol=1e-6
    ):
        diffs.append(f"reward {reward!r} (recomputed {recomputed.reward})")
    for name in FIELDS:
        if claimed.get(name, False if name == "partial" else None) != getattr(recomputed, name):
            diffs.append(f"{name} {claimed.get(name)!r} (recomputed {getattr(recomputed, name)})")
    return diffs


def _compare(file: str, claimed: dict[str, Any], recomputed: Rewards) -> list[Problem]:
    diffs = _differences(claimed, recomputed)
    if not diffs:
        return []
    return [Problem(file=file, message="says " + "; ".join(diffs))]


def _compare_file(pkg: Package, file: str, recomputed: Rewards) -> list[Problem]:
    try:
        data = pkg.files.read_json(file)
    except Unreadable as exc:
        return [Problem(file=file, message=str(exc))]
    if not isinstance(data, dict):
        return [Problem(file=file, message="not a JSON object")]
    return _compare(file, data, recomputed)


def _compare_txt(pkg: Package, file: str, recomputed: Rewards) -> list[Problem]:
    try:
        value = float(pkg.files.read_text(file).strip())
    except Unreadable as exc:
        return [Problem(file=file, message=str(exc))]
    except ValueError:
        return [Problem(file=file, message="not a number")]
    if not math.isclose(value, recomputed.reward, abs_tol=1e-6):
        return [Problem(file=file, message=f"says {value} (recomputed {recomputed.reward})")]
    return []
