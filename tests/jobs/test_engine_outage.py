"""The engine goes away mid-job (through a proxy in front of its socket) and comes back.

The executor must stop launching while it is away, say so, resume when it is back, and,
when it stays away past the limit, exit with the trials not started still queued. No
trial is ever charged to the model, and a rerun completes the job.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbench.runtime.docker import list_labelled, remove_leftovers
from tests.fakes.engine_proxy import EngineProxy
from tests.jobs.test_kill_resume import REPO, project

__all__ = ["project"]

JOB = "outage-test"


@pytest.fixture
def proxy() -> Iterator[EngineProxy]:
    p = EngineProxy(Path(tempfile.mkdtemp(prefix="ep-", dir="/tmp")) / "engine.sock")
    yield p
    p.close()


def start(root: Path, proxy: EngineProxy, wait_sec: float) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "opsbench.cli", "job", "--agent", "oracle", "--n-attempts", "1"]
    cmd += ["--job-name", JOB, "--n-concurrent", "1", "--quiet"]
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DOCKER_HOST": proxy.docker_host,
        "OPSBENCH_ENGINE_WAIT_SEC": str(wait_sec),
        "OPSBENCH_TEARDOWN_WAIT_SEC": "1",  # so the executor, not a teardown, does the waiting
    }
    return subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def outcomes(job: Path) -> dict[str, str]:
    return {
        p.parent.name: json.loads(p.read_text())["outcome"] for p in job.glob("*__*/result.json")
    }


def go_down_after_first_result(job: Path, proxy: EngineProxy, down_for: float | None) -> None:
    def run() -> None:
        deadline = time.monotonic() + 180
        while not outcomes(job) and time.monotonic() < deadline:
            time.sleep(0.05)
        proxy.set_mode("refuse")
        if down_for is not None:
            time.sleep(down_for)
            proxy.set_mode("forward")

    threading.Thread(target=run, daemon=True).start()


def test_executor_waits_for_the_engine_and_resumes(project: Path, proxy: EngineProxy) -> None:
    job = project / "jobs" / JOB
    go_down_after_first_result(job, proxy, down_for=6.0)

    out, _ = start(project, proxy, wait_sec=120).communicate(timeout=400)
    text = out.decode()

    assert "launching no new trials" in text and "launching again" in text, text
    seen = outcomes(job)
    assert set(seen.values()) <= {"graded", "infra_error"}, seen  # never the agent's fault
    assert len(seen) == 10, text  # it resumed and went through the whole queue
    assert not list_labelled(JOB, "containers") and not list_labelled(JOB, "networks")


def test_executor_gives_up_with_the_queue_intact(project: Path, proxy: EngineProxy) -> None:
    job = project / "jobs" / JOB
    go_down_after_first_result(job, proxy, down_for=None)

    proc = start(project, proxy, wait_sec=3)
    out, _ = proc.communicate(timeout=400)
    text = out.decode()

    assert proc.returncode == 75, text
    assert "did not come back" in text and "not started" in text, text
    seen = outcomes(job)
    assert 1 <= len(seen) < 10 and set(seen.values()) <= {"graded", "infra_error"}, seen

    proxy.set_mode("forward")
    remove_leftovers(JOB)  # the run is gone: whatever it could not remove is swept
    rerun = start(project, proxy, wait_sec=120)
    out, _ = rerun.communicate(timeout=400)
    assert rerun.returncode == 0, out.decode()
    assert set(outcomes(job).values()) == {"graded"} and len(outcomes(job)) == 10
    assert not list_labelled(JOB, "containers") and not list_labelled(JOB, "networks")
