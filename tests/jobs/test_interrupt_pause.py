"""Ctrl-C and the pause file, on a real `opsbench job` process."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from tests.jobs.test_kill_resume import JOB, job_resources, project, start_job

__all__ = ["project"]  # the pytest fixture, shared with the kill test


def run_job(root: Path) -> subprocess.Popen[bytes]:
    return start_job(root, attempts=1, concurrent=2)


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
