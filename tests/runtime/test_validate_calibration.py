"""`opsbench validate` catches a miscalibrated task: an untouched environment that earns
reward through a weighted check is a failure even though nop fails the task gate, and the
oracle runs `--oracle-attempts` times, each one judged."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest

from opsbench.cli import main
from opsbench.paths import ProjectPaths
from tests.runtime.conftest import write_spec

pytestmark = pytest.mark.docker

GENEROUS = """id: generous-check
title: write the marker
difficulty: easy
statement: Write done into /root/marker.
environment:
  resources: {cpus: 0.5, memory_mb: 128, pids: 64}
solution:
  - run: echo done > /root/marker
checks:
  - kind: file
    name: marker
    path: /root/marker
    contains: "^done$"
    weight: 3
  - kind: file
    name: root-home-exists
    description: passes untouched, yet weighted -- the miscalibration validate must catch
    path: /root
    weight: 1
pass_threshold: 1.0
"""


def validate(project: ProjectPaths, jobs: Path, *extra: str) -> tuple[int, str]:
    cwd = os.getcwd()
    os.chdir(project.root)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            code = main(["validate", "--no-redteam", "--jobs-dir", str(jobs), *extra])
    finally:
        os.chdir(cwd)
    return code, out.getvalue()


def test_nop_earning_reward_is_a_calibration_failure(
    project: ProjectPaths, docker_images: None, tmp_path: Path
) -> None:
    write_spec(project, "basic", "generous-check", GENEROUS)
    code, out = validate(project, tmp_path / "jobs", "--oracle-attempts", "2")
    assert code == 1, out
    row = next(line for line in out.splitlines() if line.startswith("generous-check"))
    assert "ok  reward 1.00 task ✓ rules ✓ ×2" in row, row
    assert "BAD reward 0.25 task ✗" in row, row
    assert "1 tasks · 1 categories · 1 calibration failures" in out, out
    assert sorted(p.name for p in (tmp_path / "jobs" / "oracle").glob("generous-check__*")) == [
        "generous-check__1",
        "generous-check__2",
    ]
