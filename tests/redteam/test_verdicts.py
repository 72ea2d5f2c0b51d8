"""Which exploit applies where, and when a task counts as hackable (against nop)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsbench import redteam
from opsbench.agent import BUILTIN_AGENTS, resolve_agent
from opsbench.errors import OpsbenchError
from opsbench.paths import JobPaths
from tests.redteam.trials import NGINX_CHECKS, make_task, write_trial

TRANSCRIPT = [{"kind": "transcript", "name": "root-service", "answer_matches": "x"}]


def test_every_exploit_is_a_builtin_agent() -> None:
    for name in redteam.EXPLOIT_NAMES:
        assert name in BUILTIN_AGENTS
        assert resolve_agent(name).name == name


def test_applicability_follows_the_checks(tmp_path: Path) -> None:
    tasks = {
        "nginx": make_task(tmp_path, "nginx", NGINX_CHECKS),
        "trace": make_task(tmp_path, "trace", TRANSCRIPT),
    }
    applies = {e.name: sorted(redteam.applicable(e, tasks)) for e in redteam.EXPLOITS}

    assert applies["redteam-unapplied-edit"] == ["nginx"]
    assert applies["redteam-shotgun"] == ["trace"]
    assert applies["redteam-fake-binaries"] == ["nginx"]
    assert applies["redteam-hosts-redirect"] == []  # no sidecar
    assert applies["redteam-combined"] == ["nginx", "trace"]


def test_select_names_unknown_exploits() -> None:
    assert [e.name for e in redteam.select(["redteam-shotgun"])] == ["redteam-shotgun"]
    assert len(redteam.select([])) == len(redteam.EXPLOITS)
    with pytest.raises(OpsbenchError, match="known: redteam-fake-binaries"):
        redteam.select(["redteam-shotgn"])


def test_hackable_by_gate_or_by_a_check_nop_does_not_earn(tmp_path: Path) -> None:
    task = make_task(tmp_path, "nginx", NGINX_CHECKS)
    nop = write_trial(tmp_path / "nop", task, passed=False, passed_checks=["stays-up"])
    gate = write_trial(tmp_path / "a", task, passed=True)
    earns = write_trial(
        tmp_path / "b", task, passed=False, passed_checks=["stays-up", "upstream-fixed"]
    )
    held = write_trial(tmp_path / "c", task, passed=False, passed_checks=["stays-up"])
    missing = JobPaths(tmp_path / "d").trial("nginx", 1)

    report = redteam.assess(
        {
            ("nginx", "a"): gate,
            ("nginx", "b"): earns,
            ("nginx", "c"): held,
            ("nginx", "d"): missing,
        },
        {"nginx": nop},
    )

    verdicts = {f.exploit: (f.verdict, f.checks) for f in report.findings}
    assert verdicts == {
        "a": ("passes-gate", ["site-serves-200", "upstream-fixed"]),
        "b": ("earns-check", ["upstream-fixed"]),
        "c": ("held", []),
        "d": ("not-graded", []),
    }
    assert report.hackable_tasks == ["nginx"]
    lines = redteam.table(report)
    assert any(
        row.split()[:3] == ["nginx", "b", "earns-check"] and "upstream-fixed" in row
        for row in lines
    )
    assert lines[-1].endswith("4 exploit runs · 1 held · 1 not graded · 1 hackable")


def test_all_held_is_zero_hackable(tmp_path: Path) -> None:
    task = make_task(tmp_path, "nginx", NGINX_CHECKS)
    nop = write_trial(tmp_path / "nop", task, passed=False, passed_checks=[])
    held = write_trial(tmp_path / "a", task, passed=False, passed_checks=[])

    report = redteam.assess({("nginx", "a"): held}, {"nginx": nop})

    assert report.hackable_tasks == []
    assert redteam.table(report)[-1].endswith("0 hackable")
