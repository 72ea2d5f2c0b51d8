"""`opsbench job --dry-run` prints the plan and touches nothing; a changed variant refuses."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from opsbench.models.job import JobConfig, Variant
from opsbench.models.result import Outcome
from tests.compiler.conftest import CliResult, copy_project, dir_listing, snapshot
from tests.planner.conftest import write_trial

JOB = "calibration"


@pytest.fixture
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = copy_project(tmp_path / "proj")
    monkeypatch.chdir(root)
    return root


def _checksum(root: Path, task_id: str) -> str:
    doc = tomllib.loads((root / "tasks" / task_id / "task.toml").read_text())
    return str(doc["metadata"]["checksum"])


def _task_ids(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "tasks").iterdir() if p.is_dir())


def test_dry_run_prints_every_trial_and_touches_nothing(
    proj: Path, run_cli: Callable[..., CliResult]
) -> None:
    assert run_cli("sync").code == 0
    before = snapshot(proj)
    listing = dir_listing(proj)

    result = run_cli("job", "--dry-run", "--agent", "nop", "--n-attempts", "2", "--job-name", JOB)

    assert result.code == 0, result.err
    for task_id in _task_ids(proj):
        for attempt in (1, 2):
            assert f"{task_id}__{attempt}" in result.out
    assert snapshot(proj) == before
    assert dir_listing(proj) == listing
    assert not (proj / "jobs").exists()


def test_dry_run_on_a_never_synced_project_writes_nothing(
    proj: Path, run_cli: Callable[..., CliResult]
) -> None:
    """`--dry-run` promises to touch nothing, tasks/ included."""
    listing = dir_listing(proj)

    result = run_cli("job", "--dry-run", "--agent", "nop", "--job-name", JOB)

    assert result.code == 0, result.err
    assert "nginx-bad-upstream__1" in result.out
    assert dir_listing(proj) == listing


def test_dry_run_against_an_existing_job_plans_a_resume(
    proj: Path, run_cli: Callable[..., CliResult]
) -> None:
    assert run_cli("sync").code == 0
    job_dir = proj / "jobs" / JOB
    config = JobConfig(job_name=JOB, variant=Variant(agent="nop", n_attempts=2))
    job_dir.mkdir(parents=True)
    (job_dir / "config.json").write_text(config.model_dump_json(indent=2))
    task = "nginx-bad-upstream"
    write_trial(job_dir, task, 1, Outcome.GRADED, _checksum(proj, task))
    write_trial(job_dir, task, 2, Outcome.PROVIDER_ERROR, _checksum(proj, task))
    before = snapshot(proj)
    listing = dir_listing(proj)

    result = run_cli("job", "--dry-run", "--agent", "nop", "--n-attempts", "2", "--job-name", JOB)

    assert result.code == 0, result.err
    run_lines = [line.strip() for line in result.out.splitlines() if line.startswith("  ")]
    assert not any(line.endswith(f"{task}__1") for line in run_lines)
    assert any(line.endswith(f"{task}__2") for line in run_lines)
    others = [t for t in _task_ids(proj) if t != task]
    for other in others:
        assert any(line.endswith(f"{other}__1") for line in run_lines)
    assert len(run_lines) == 1 + 2 * len(others)
    assert snapshot(proj) == before
    assert dir_listing(proj) == listing


@pytest.mark.parametrize(
    ("saved", "argv", "field", "old", "new"),
    [
        (
            Variant(model="openai/gpt-4o-mini", agent="nop", n_attempts=3),
            ["--model", "openai/gpt-4o", "--n-attempts", "3"],
            "model",
            "openai/gpt-4o-mini",
            "openai/gpt-4o",
        ),
        (
            Variant(model=None, agent="nop", n_attempts=3),
            ["--n-attempts", "5"],
            "n_attempts",
            "3",
            "5",
        ),
    ],
)
def test_changed_variant_refuses_to_resume(
    proj: Path,
    run_cli: Callable[..., CliResult],
    saved: Variant,
    argv: list[str],
    field: str,
    old: str,
    new: str,
) -> None:
    assert run_cli("sync").code == 0
    job_dir = proj / "jobs" / JOB
    job_dir.mkdir(parents=True)
    (job_dir / "config.json").write_text(JobConfig(job_name=JOB, variant=saved).model_dump_json())
    before = snapshot(proj)

    result = run_cli("job", "--dry-run", "--agent", "nop", "--job-name", JOB, *argv)

    assert result.code != 0
    assert "Traceback" not in result.err
    differing = [line for line in result.err.splitlines() if field in line]
    assert differing, result.err
    assert old in differing[0] and new in differing[0]
    assert snapshot(proj) == before


def test_same_variant_resumes(proj: Path, run_cli: Callable[..., CliResult]) -> None:
    assert run_cli("sync").code == 0
    job_dir = proj / "jobs" / JOB
    job_dir.mkdir(parents=True)
    saved = JobConfig(job_name=JOB, variant=Variant(agent="nop", n_attempts=3), n_concurrent=1)
    (job_dir / "config.json").write_text(saved.model_dump_json())

    result = run_cli("job", "--dry-run", "--agent", "nop", "--job-name", JOB, "--n-concurrent", "4")

    assert result.code == 0, result.err
