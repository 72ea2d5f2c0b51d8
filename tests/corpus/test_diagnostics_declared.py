"""Every task of the corpus declares its diagnostics (issue 16), and its reference
solution does none of the harm it declares.

Reads every spec under tasks-spec/, the categories of today and those being added
(alerting, databases, networking, capacity, ...): a task without `diagnostics:` fails
here until its author declares them. Cheap: specs load in memory, no Docker.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from grading.diagnostics import diagnose
from opsbench.models.spec import TaskSpec
from opsbench.sandbox import CommandRecord
from opsbench.specload import load_specs

SPECS = Path(__file__).resolve().parents[2] / "tasks-spec"


@cache
def specs() -> dict[str, TaskSpec]:
    return {item.spec.id: item.spec for item in load_specs(SPECS)}


TASK_IDS = sorted(specs())


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_task_declares_diagnostics(task_id: str) -> None:
    spec = specs()[task_id]
    assert spec.diagnostics is not None, (
        f"{spec.category}/{task_id}: declares no `diagnostics:` (the evidence a good "
        "investigation looks at, the distractors, the harmful actions)"
    )
    assert spec.diagnostics.evidence, task_id


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_the_reference_solution_does_no_declared_harm(task_id: str) -> None:
    """The oracle runs the solution's steps as commands: none may match a harmful action,
    or the oracle's own report would list wrong remediations."""
    spec = specs()[task_id]
    if spec.diagnostics is None:
        pytest.fail(f"{task_id}: declares no diagnostics")
    commands = [CommandRecord(i + 1, "", s.run, 0) for i, s in enumerate(spec.solution)]
    verdict = diagnose(spec, commands, None, task_passed=True)
    assert verdict.wrong_remediations == [], verdict.wrong_remediations


def test_the_corpus_has_tasks() -> None:
    assert len(TASK_IDS) >= 16
