"""The task corpus under tasks-spec/: coverage, spec conventions, and the facts it hard-codes.

Fast (no Docker): specs are loaded and compiled in memory. Numbers a spec states as fixed
values, and identifiers it requires answers to cite, are checked against the scenario's
ground truth (`SCENARIO`), so a change to the story cannot silently miscalibrate a task.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from opsbench.compile import CompiledTask, compile_all
from opsbench.models.spec import AnswerCheck, TaskSpec, TranscriptCheck
from opsbench.o11y import SCENARIO, render
from opsbench.o11y.telemetry import generate
from opsbench.paths import ProjectPaths
from opsbench.specload import LoadedSpec, discover, load_specs

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "tasks-spec"
CATEGORIES = ("metrics", "investigation", "remediation", "logs", "capacity")
SCHEMA_COMMENT = "# yaml-language-server: $schema=../../schema/task-spec.schema.json"


@cache
def loaded() -> tuple[LoadedSpec, ...]:
    return tuple(load_specs(SPECS))


@cache
def compiled() -> dict[str, CompiledTask]:
    return {t.task_id: t for t in compile_all(ProjectPaths(REPO))}


def spec(task_id: str) -> TaskSpec:
    return next(item.spec for item in loaded() if item.spec.id == task_id)


def check(task_id: str, name: str) -> Any:
    return next(c for c in spec(task_id).checks if c.name == name)


# --------------------------------------------------------------------------- coverage


def test_at_least_16_tasks_from_12_spec_files_compile() -> None:
    tasks = compiled()
    files = {item.source for item in loaded()}
    assert len(tasks) >= 16, sorted(tasks)
    assert len(files) >= 12, sorted(str(f) for f in files)


def test_every_category_has_every_tier() -> None:
    tiers: dict[str, set[str]] = defaultdict(set)
    for item in loaded():
        tiers[item.spec.category].add(item.spec.difficulty)
    for category in CATEGORIES:
        assert tiers[category] == {"easy", "medium", "hard"}, (category, tiers[category])


def test_categories_are_the_known_ones() -> None:
    counts = Counter(item.spec.category for item in loaded())
    assert set(counts) == set(CATEGORIES), counts
    assert min(counts.values()) >= 3, counts


# --------------------------------------------------------------------------- conventions


@pytest.mark.parametrize("path", discover(SPECS), ids=lambda p: p.relative_to(SPECS).as_posix())
def test_spec_file_starts_with_the_schema_comment(path: Path) -> None:
    """First line, or first line after the `matrix:`/`cases:` header document."""
    lines = path.read_text().splitlines()
    if lines[0] != SCHEMA_COMMENT:
        assert "---" in lines, f"{path.name}: no schema comment on line 1 and no header"
        assert lines[lines.index("---") + 1] == SCHEMA_COMMENT, path.name


@pytest.mark.parametrize("task_id", sorted(compiled()))
def test_task_is_gradable_without_a_judge(task_id: str) -> None:
    """The deterministic checks alone decide the task gate (a rubric may be ungraded)."""
    task = spec(task_id)
    assert task.checks, f"{task_id}: only rubric criteria; nop/oracle calibration needs checks"
    assert task.solution


@pytest.mark.parametrize("task_id", sorted(compiled()))
def test_sidecar_tasks_ask_for_checkable_answer_lines(task_id: str) -> None:
    """Question tasks grade the final answer: every answer line the checks read is asked
    for in the instruction, with the same key."""
    task = spec(task_id)
    if "o11y" not in task.environment.sidecars:
        return
    instruction = compiled()[task_id].files["instruction.md"].decode()
    for c in task.checks:
        pattern = c.pattern if isinstance(c, AnswerCheck) else getattr(c, "answer_matches", "")
        key = re.search(r"\^\\W\*([A-Z_]+):", pattern)
        if key:
            assert re.search(rf"^{key.group(1)}: <", instruction, re.M), (task_id, c.name)


@pytest.mark.parametrize("task_id", sorted(compiled()))
def test_operating_rules_reach_the_instruction(task_id: str) -> None:
    instruction = compiled()[task_id].files["instruction.md"].decode()
    for rule in spec(task_id).compliance:
        if rule.instruct:
            assert rule.instruct in instruction, (task_id, rule.name)


# --------------------------------------------------------------------------- ground truth


def test_fixed_values_match_the_scenario() -> None:
    full_in = check("disk-full-forecast", "full-in-hours")
    assert full_in.value == pytest.approx(
        SCENARIO.disk_fill.full_in.total_seconds() / 3600, abs=0.01
    )
    started = check("checkout-latency", "started-minutes-ago")
    assert started.value == SCENARIO.latency_regression.ago.total_seconds() / 60
    since = check("db-volume-filling", "failing-since")
    assert since.value == SCENARIO.disk_fill.start_ago.total_seconds() / 3600


@pytest.mark.parametrize(
    ("task_id", "name", "truth"),
    [
        ("top-error-service", "names-the-service", SCENARIO.error_spike.service),
        ("payment-failures", "origin-service", SCENARIO.error_spike.service),
        ("payment-failures", "failing-dependency", SCENARIO.error_spike.upstream),
        ("checkout-latency", "cause-service", SCENARIO.latency_regression.service),
        ("checkout-latency", "cause-version", SCENARIO.latency_regression.version),
        ("cpu-ranking", "cpu-growth-service", SCENARIO.latency_regression.service),
        ("cache-hit-dip", "replica", SCENARIO.cache_lag.replica),
        ("disk-full-forecast", "device", SCENARIO.disk_fill.device),
        ("request-trace-checkout-502", "root-service", SCENARIO.error_spike.service),
    ],
)
def test_cited_identifiers_match_the_scenario(task_id: str, name: str, truth: str) -> None:
    c = check(task_id, name)
    assert isinstance(c, TranscriptCheck)
    assert c.must_cite == [truth]


def test_solutions_read_the_scenario_clock_from_the_gateway_log() -> None:
    """Reference solutions are not told the clock: they take it from gateway's last
    per-minute "request stats" line, which the generator writes exactly at the clock."""
    clock = datetime(2026, 5, 17, 13, 42, 27, tzinfo=UTC)
    gateway = render.logs(generate(0, clock))["gateway.log"].decode().splitlines()
    last = [line for line in gateway if 'msg="request stats"' in line][-1]
    assert last.startswith(clock.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
