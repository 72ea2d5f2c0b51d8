"""Recompute a trial's rewards from what it saved, through the grader's own scoring code.

The one place the validator calls the grader (so a change to grading's types is adapted
here and nowhere else). Check verdicts come from `verifier/evidence.json` (captured at
verify time, as a regrade uses them); compliance is evaluated again from
`agent/commands.jsonl` and the trajectory; rubric verdicts are the saved ones from
`verifier/grading_details.json` — no judge is ever called. A hand-edited `result.json`,
`reward.json` or `reward.txt` then disagrees with the recomputation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grading.grader import GradingInput, Judge, grade
from opsbench.models.spec import TaskSpec
from opsbench.models.trajectory import Trajectory, load_trajectory
from opsbench.models.verdict import CriterionVerdict, Evidence, Rewards
from opsbench.paths import TrialPaths
from opsbench.sandbox import CommandRecord, read_commands


class CannotRecompute(Exception):
    """The saved record is not enough to recompute (missing or malformed evidence)."""


@dataclass(frozen=True)
class SavedRecord:
    """What a trial saved that its rewards follow from."""

    evidence: dict[str, Any]
    details: dict[str, Any]
    commands: list[CommandRecord]
    trajectory: Trajectory | None

    @classmethod
    def read(cls, trial_dir: Path) -> SavedRecord:
        paths = TrialPaths(trial_dir)
        return cls(
            evidence=_json_object(paths.evidence),
            details=_json_object(paths.grading_details),
            commands=read_commands(paths.commands),
            trajectory=load_trajectory(paths.trajectory),
        )


def recompute_rewards(trial_dir: Path) -> Rewards:
    """The rewards `trial_dir`'s saved record implies."""
    return rewards_from(SavedRecord.read(trial_dir))


def rewards_from(record: SavedRecord, spec: dict[str, Any] | None = None) -> Rewards:
    """The grader's score of a saved record. `spec` replaces the evidence's copy (the
    validator passes the copy it has checked against the release)."""
    graded_spec = spec if spec is not None else record.evidence.get("spec")
    if not isinstance(graded_spec, dict):
        raise CannotRecompute("verifier/evidence.json carries no spec")
    try:
        task = TaskSpec.model_validate(graded_spec)
        evidence = Evidence.model_validate(record.evidence)
        result = grade(
            GradingInput(
                spec=task,
                commands=record.commands,
                trajectory=record.trajectory,
                exec=None,
                saved_evidence=evidence,
                judge=saved_rubric(record.details),
            )
        )
        return result.details.score
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CannotRecompute(f"malformed saved record ({type(exc).__name__}: {exc})") from None


def saved_rubric(details: dict[str, Any]) -> Judge:
    """A judge that answers with the verdicts saved at grading time, by criterion name; a
    criterion with no saved verdict is ungraded (never a pass)."""
    saved = {
        v.get("name"): v for v in details.get("rubric", []) if isinstance(v, dict) and "name" in v
    }

    def judge(
        spec: TaskSpec, trajectory: Trajectory | None, facts: dict[str, str]
    ) -> list[CriterionVerdict]:
        out = []
        for c in spec.rubric:
            v = saved.get(c.name, {})
            verdict = v.get("verdict") if v.get("verdict") in ("yes", "no") else "ungraded"
            out.append(
                CriterionVerdict(
                    name=c.name,
                    criterion=c.criterion,
                    weight=c.weight,
                    verdict=verdict,
                    explanation=str(v.get("explanation", "")),
                )
            )
        return out

    return judge


def _json_object(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except OSError:
        raise CannotRecompute(f"{path.parent.name}/{path.name} is missing") from None
    except ValueError:
        raise CannotRecompute(f"{path.parent.name}/{path.name} is not valid JSON") from None
    if not isinstance(data, dict):
        raise CannotRecompute(f"{path.parent.name}/{path.name} is not a JSON object")
    return data
