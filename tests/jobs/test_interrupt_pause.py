"""Ctrl-C and the pause file, on a real `opsbench job` process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.jobs.test_kill_resume import REPO, job_resources, project

__all__ = ["project"]
JOB = "kill-test"  # the project fixture's tasks; job_resources() counts this job's resources


def run_job(root: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "opsbench.cli",
        "job",
        "--agent",
        "oracle",
        "--n-attempts",
        "1",
        "--job-name",
        JOB,
        "--n-concurrent",
        "2",
        "--quiet",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def outcomes(job: Path) -> dict[str, str]:
    return {
        p.parent.name: json.loads(p.read_text())["outcome"] for p in job.glob("*__*/result.json")
    }


def test_ctrl_c_cancels_in_flight_trials_and_exits_130(project: Path) -> None:
    proc = run_job(project)
    job = project / "jobs" / JOB
    deadline = time.monotonic() + 120
    while not list(job.glob("*__*/agent")) and time.monotonic() < deadline:
        time.sleep(0.1)  # wait until trials are in flight
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out.decode()
    seen = outcomes(job)
    assert "cancelled" in seen.values(), seen  # in-flight trials recorded, not lost
    assert len(seen) < 10  # it stopped launching
    assert job_resources() == (0, 0)  # and tore down what it had started


def test_pause_file_stops_launching_and_rerun_continues(project: Path) -> None:
    job = project / "jobs" / JOB
    job.mkdir(parents=True)
    (job / "PAUSE").write_text("")
    proc = run_job(project)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out.decode()
    assert b"pause file" in out and outcomes(job) == {}
    (job / "PAUSE").unlink()
    proc = run_job(project)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out.decode()
    assert sorted(outcomes(job).values()) == ["graded"] * 10
