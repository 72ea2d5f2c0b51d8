"""Reliability with real processes: SIGKILL a running job, rerun, lose nothing.

A 20-trial job (10 tasks x 2 attempts, oracle) is killed with SIGKILL at random moments,
several times, then rerun to completion. Afterwards every task has exactly the requested
attempts, every trial that had finished before a kill is untouched (same result.json
bytes), the interrupted ones were archived rather than deleted, and no container or network
of the job is left once a new run has started.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from opsbench.runtime.docker import list_labelled

REPO = Path(__file__).resolve().parents[2]
JOB = "kill-test"

SPEC = """matrix:
  n: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
---
id: marker-{{ n }}
title: write marker {{ n }}
difficulty: easy
statement: Write {{ n }} into /root/marker.
environment:
  resources: {cpus: 0.5, memory_mb: 128, pids: 64}
solution:
  - run: sleep 0.5; echo {{ n }} > /root/marker
checks:
  - kind: file
    name: marker
    path: /root/marker
    contains: "^{{ n }}$"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "tasks-spec" / "basic").mkdir(parents=True)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "environment" / "base", root / "environment" / "base")
    (root / "tasks-spec" / "basic" / "marker.yaml").write_text(SPEC)
    return root


def start_job(root: Path, attempts: int = 2, concurrent: int = 4) -> subprocess.Popen[bytes]:
    """`opsbench job` with the oracle as a real process (its own signals, its own death)."""
    cmd = [
        sys.executable,
        "-m",
        "opsbench.cli",
        "job",
        "--agent",
        "oracle",
        "--n-attempts",
        str(attempts),
        "--job-name",
        JOB,
        "--n-concurrent",
        str(concurrent),
        "--quiet",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def finished(job_dir: Path) -> dict[str, bytes]:
    """Trial name -> result.json bytes, for every finished trial."""
    return {p.parent.name: p.read_bytes() for p in job_dir.glob("*__*/result.json")}


def job_resources() -> tuple[int, int]:
    return len(list_labelled(JOB, "containers")), len(list_labelled(JOB, "networks"))


def test_sigkill_at_random_moments_then_resume(project: Path) -> None:
    job_dir = project / "jobs" / JOB
    rng = random.Random(20261122)
    kept: dict[str, bytes] = {}
    kills = 0
    orphans = 0
    for _ in range(4):
        proc = start_job(project)
        time.sleep(rng.uniform(1.5, 4.0))
        if proc.poll() is not None:
            break  # finished before we could kill it
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        orphans += sum(job_resources())  # SIGKILL skips teardown: these must be swept later
        now = finished(job_dir)
        for name, data in kept.items():  # nothing finished earlier was rerun or lost
            assert now.get(name) == data, f"{name} changed after a kill"
        kept = now
    assert kills >= 2, "the job finished too fast to be killed; slow the tasks down"
    assert orphans > 0, "no kill left containers behind: the cleanup path was not exercised"

    proc = start_job(project)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out.decode()
    final = finished(job_dir)
    for name, data in kept.items():
        assert final[name] == data, f"{name} was rerun although it had finished"
    expected = {f"marker-{n}__{a}" for n in range(10) for a in (1, 2)}
    trial_dirs = {p.name for p in job_dir.iterdir() if "__" in p.name}
    assert trial_dirs == expected
    assert set(final) == expected
    for name, data in final.items():
        result = json.loads(data)
        assert result["outcome"] == "graded" and result["rewards"]["passed"], name
    archived = list((job_dir / ".archive").glob("*/*/*")) if (job_dir / ".archive").exists() else []
    for path in archived:  # interrupted trials were moved aside, never deleted
        assert path.parent.name in {"incomplete", "cancelled", "infra_error", "corrupt"}
    assert job_resources() == (0, 0)
