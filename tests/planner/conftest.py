"""Synthetic job directories for the resume planner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from opsbench.models.result import Outcome, Rewards, TrialResult, VariantInfo
from tests.compiler.conftest import run_cli

__all__ = ["run_cli"]  # the in-process CLI fixture, shared with the compiler tests

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def result_for(task_id: str, attempt: int, outcome: Outcome, checksum: str) -> TrialResult:
    graded = outcome == Outcome.GRADED
    return TrialResult(
        trial_name=f"{task_id}__{attempt}",
        task_id=task_id,
        attempt=attempt,
        task_checksum=checksum,
        variant=VariantInfo(model="openai/gpt-4o-mini", reasoning_effort="off", agent="sre"),
        outcome=outcome,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=42),
        rewards=Rewards(reward=1.0, task=True, compliance=True, passed=True) if graded else None,
    )


def write_trial(
    job_dir: Path,
    task_id: str,
    attempt: int,
    outcome: Outcome | None,
    checksum: str,
    raw: str | None = None,
) -> Path:
    """A trial dir with a log file and, unless `outcome` is None, a result.json.

    `raw` replaces the result.json text (for corrupt files).
    """
    trial = job_dir / f"{task_id}__{attempt}"
    (trial / "agent").mkdir(parents=True, exist_ok=True)
    (trial / "trial.log").write_text(f"log of {task_id} attempt {attempt}\n")
    (trial / "agent" / "trajectory.json").write_text("{}\n")
    if raw is not None:
        (trial / "result.json").write_text(raw)
    elif outcome is not None:
        text = result_for(task_id, attempt, outcome, checksum).model_dump_json(indent=2)
        (trial / "result.json").write_text(text)
    return trial


def tree(root: Path) -> dict[str, bytes]:
    """Every file under `root`: relative path -> bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
