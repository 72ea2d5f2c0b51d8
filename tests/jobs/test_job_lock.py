"""The job lock: one run per job directory, a dead holder's lock taken over, readers wait.

The lock-only tests use real processes (a lock is about two processes); the last test
starts the same real job twice and checks that the second refuses at once while the first
completes with nothing lost and nothing left running.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from opsbench import joblock
from tests.jobs.test_kill_resume import REPO, finished, project

__all__ = ["project"]

HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from opsbench import joblock

    @joblock.holding
    def main() -> None:
        joblock.take(Path(sys.argv[1]), "job")
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))

    main()
    """
)


def hold_in_other_process(directory: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(directory), str(seconds)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


@joblock.holding
def take(directory: Path, command: str = "job", wait: float = 0.0) -> joblock.Holder | None:
    joblock.take(directory, command, wait)
    return joblock.read_holder(directory)


def test_second_taker_is_refused_naming_pid_and_host(tmp_path: Path) -> None:
    job = tmp_path / "job"
    other = hold_in_other_process(job, 30)
    try:
        with pytest.raises(joblock.JobLocked) as refused:
            take(job)
        text = str(refused.value)
        assert f"pid {other.pid}" in text and socket.gethostname() in text
        assert refused.value.exit_code != 0
    finally:
        other.kill()
        other.wait()


def test_a_dead_holders_lock_is_taken_over_with_a_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    job = tmp_path / "job"
    other = hold_in_other_process(job, 30)
    other.send_signal(signal.SIGKILL)  # no chance to release: the note stays behind
    other.wait()
    assert joblock.read_holder(job) is not None

    with caplog.at_level(logging.WARNING, logger="opsbench.joblock"):
        holder = take(job)

    assert holder is not None and holder.pid == os.getpid()
    assert any(
        f"pid {other.pid}" in r.message and "taking over" in r.message for r in caplog.records
    )
    assert joblock.read_holder(job) is None  # released cleanly when the command ended


def test_a_reader_waits_for_the_holder_then_proceeds(tmp_path: Path) -> None:
    job = tmp_path / "job"
    other = hold_in_other_process(job, 1.5)
    try:
        with pytest.raises(joblock.JobLocked, match="--wait"):
            take(job, "regrade")
        t0 = time.monotonic()
        holder = take(job, "regrade", wait=60)
        assert holder is not None and holder.command == "regrade"
        assert time.monotonic() - t0 < 60
        assert other.wait(timeout=5) == 0
    finally:
        other.kill()
        other.wait()


def test_one_command_takes_its_own_directory_once(tmp_path: Path) -> None:
    @joblock.holding
    def twice() -> None:
        joblock.take(tmp_path / "job", "job")
        joblock.take(tmp_path / "job", "job")

    twice()
    assert take(tmp_path / "job") is not None


def test_another_command_in_the_same_process_is_refused_too(tmp_path: Path) -> None:
    """The lock is an OS lock per open file, not per process: threads cannot share it."""
    errors: list[BaseException] = []

    @joblock.holding
    def command() -> None:
        joblock.take(tmp_path / "job", "job")
        t = threading.Thread(target=lambda: errors.extend(_refused(tmp_path / "job")))
        t.start()
        t.join()

    command()
    assert len(errors) == 1 and isinstance(errors[0], joblock.JobLocked)


def _refused(directory: Path) -> list[BaseException]:
    try:
        take(directory)
    except joblock.JobLocked as exc:
        return [exc]
    return []


# --------------------------------------------------------------------------- real job twice

JOB = "twice-test"


def start(root: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "opsbench.cli", "job", "--agent", "oracle", "--n-attempts", "2"]
    cmd += ["--job-name", JOB, "--n-concurrent", "4", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def test_the_same_job_started_twice(project: Path) -> None:
    from opsbench.runtime.docker import list_labelled

    job = project / "jobs" / JOB
    first = start(project)
    deadline = time.monotonic() + 180
    while not list(job.glob("*__*/agent")) and time.monotonic() < deadline:
        time.sleep(0.1)  # the first run has trials in flight
    assert first.poll() is None, "the first run ended before the second could start"

    second = start(project)
    out2, _ = second.communicate(timeout=60)
    assert first.poll() is None, "the first run should still be running"

    assert second.returncode == joblock.JobLocked.exit_code, out2.decode()
    text = out2.decode()
    assert f"pid {first.pid}" in text and socket.gethostname() in text, text
    assert "Traceback" not in text

    out1, _ = first.communicate(timeout=300)
    assert first.returncode == 0, out1.decode()
    results = finished(job)
    expected = {f"marker-{n}__{a}" for n in range(10) for a in (1, 2)}
    assert set(results) == expected
    assert all(json.loads(r)["rewards"]["passed"] for r in results.values())
    assert not (job / ".archive").exists(), "the second run archived the first one's trials"
    assert not list_labelled(JOB, "containers") and not list_labelled(JOB, "networks")
    assert joblock.read_holder(job) is None
