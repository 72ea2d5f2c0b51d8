"""Resume planning: keep finished work, archive (never delete) the rest, run what is missing."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opsbench.models.result import Outcome
from opsbench.paths import JobPaths
from opsbench.plan import apply_plan, make_plan
from tests.planner.conftest import tree, write_trial

TASKS = {
    "alpha": "sha256:aaaa",
    "beta": "sha256:bbbb",
    "gamma": "sha256:cccc",
    "delta": "sha256:dddd",
}
N = 4


@pytest.fixture
def job(tmp_path: Path) -> JobPaths:
    """A job that saw every kind of ending (attempts counted from 1)."""
    d = tmp_path / "jobs" / "openai-gpt-4o-mini-off-k4"
    write_trial(d, "alpha", 1, Outcome.GRADED, TASKS["alpha"])
    write_trial(d, "alpha", 2, Outcome.AGENT_ERROR, TASKS["alpha"])
    write_trial(d, "alpha", 3, Outcome.AGENT_TIMEOUT, TASKS["alpha"])
    write_trial(d, "beta", 1, Outcome.PROVIDER_ERROR, TASKS["beta"])
    write_trial(d, "beta", 2, Outcome.INFRA_ERROR, TASKS["beta"])
    write_trial(d, "beta", 3, Outcome.CANCELLED, TASKS["beta"])
    write_trial(d, "beta", 4, Outcome.GRADED, TASKS["beta"])
    write_trial(d, "gamma", 1, Outcome.GRADED, "sha256:an-older-version")
    write_trial(d, "gamma", 2, None, TASKS["gamma"], raw='{"outcome": "graded", "task_chec')
    write_trial(d, "gamma", 3, None, TASKS["gamma"])  # killed mid-trial: no result.json
    write_trial(d, "gamma", 4, None, TASKS["gamma"], raw='{"outcome": "exploded"}')
    # Not this run's business: an attempt beyond N, a task not selected, other dirs.
    write_trial(d, "alpha", 9, Outcome.PROVIDER_ERROR, TASKS["alpha"])
    write_trial(d, "omega", 1, Outcome.INFRA_ERROR, "sha256:omega")
    (d / "notes").mkdir()
    (d / "notes" / "readme.txt").write_text("mine\n")
    (d / "config.json").write_text("{}\n")
    return JobPaths(d)


def test_plan_keeps_counted_outcomes_and_archives_the_rest(job: JobPaths) -> None:
    plan = make_plan(job, TASKS, N)

    assert sorted(plan.keep) == ["alpha__1", "alpha__2", "alpha__3", "beta__4"]
    archived = {reason: sorted(names) for reason, names in plan.archive.items()}
    assert archived == {
        "provider_error": ["beta__1"],
        "infra_error": ["beta__2"],
        "cancelled": ["beta__3"],
        "stale": ["gamma__1"],
        "corrupt": ["gamma__2", "gamma__4"],
        "incomplete": ["gamma__3"],
    }
    kept = {("alpha", 1), ("alpha", 2), ("alpha", 3), ("beta", 4)}
    expected_run = sorted(set(itertools.product(TASKS, range(1, N + 1))) - kept)
    assert sorted(plan.run) == expected_run


def test_plan_of_an_empty_job_runs_everything(tmp_path: Path) -> None:
    plan = make_plan(JobPaths(tmp_path / "jobs" / "new"), TASKS, 2)

    assert plan.keep == []
    assert plan.archive == {}
    assert sorted(plan.run) == sorted(itertools.product(TASKS, [1, 2]))
    assert not (tmp_path / "jobs").exists()


def test_make_plan_only_reads(job: JobPaths) -> None:
    before = tree(job.dir)

    make_plan(job, TASKS, N)

    assert tree(job.dir) == before


def test_apply_moves_never_deletes(job: JobPaths) -> None:
    before = tree(job.dir)
    plan = make_plan(job, TASKS, N)

    stamp = apply_plan(job, plan, now=datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC))

    assert stamp is not None
    assert [p.name for p in job.archive.iterdir()] == [stamp]
    after = tree(job.dir)
    moved = {}
    for reason, names in plan.archive.items():
        for name in names:
            moved[name] = f".archive/{stamp}/{reason}/{name}"
            assert not (job.dir / name).exists()
    expected = {}
    for rel, data in before.items():
        top, _, rest = rel.partition("/")
        expected[f"{moved[top]}/{rest}" if top in moved else rel] = data
    assert after == expected


def test_resume_after_apply_keeps_the_same_work(job: JobPaths) -> None:
    first = make_plan(job, TASKS, N)
    apply_plan(job, first)

    second = make_plan(job, TASKS, N)

    assert sorted(second.keep) == sorted(first.keep)
    assert second.archive == {}
    assert sorted(second.run) == sorted(first.run)


def test_apply_with_nothing_to_archive_touches_nothing(tmp_path: Path) -> None:
    d = tmp_path / "job"
    write_trial(d, "alpha", 1, Outcome.GRADED, TASKS["alpha"])
    job = JobPaths(d)
    before = tree(d)

    plan = make_plan(job, {"alpha": TASKS["alpha"]}, 1)
    assert apply_plan(job, plan) is None

    assert plan.run == []
    assert tree(d) == before
    assert not job.archive.exists()


def test_two_resumes_archive_side_by_side(job: JobPaths) -> None:
    apply_plan(job, make_plan(job, TASKS, N), now=datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC))
    write_trial(job.dir, "delta", 1, Outcome.PROVIDER_ERROR, TASKS["delta"])

    plan = make_plan(job, TASKS, N)
    assert plan.archive == {"provider_error": ["delta__1"]}
    apply_plan(job, plan, now=datetime(2026, 3, 5, 5, 6, 7, tzinfo=UTC))

    stamps = sorted(p.name for p in job.archive.iterdir())
    assert len(stamps) == 2
    assert (job.archive / stamps[1] / "provider_error" / "delta__1" / "trial.log").is_file()
    assert (job.archive / stamps[0] / "provider_error" / "beta__1" / "trial.log").is_file()


def test_a_changed_task_checksum_makes_its_trials_stale(job: JobPaths) -> None:
    changed = {**TASKS, "alpha": "sha256:alpha-edited"}

    plan = make_plan(job, changed, N)

    assert sorted(plan.archive["stale"]) == ["alpha__1", "alpha__2", "alpha__3", "gamma__1"]
    assert not any(name.startswith("alpha") for name in plan.keep)
    assert {("alpha", a) for a in range(1, N + 1)} <= set(plan.run)
