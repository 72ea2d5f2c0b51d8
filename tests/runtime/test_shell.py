"""`opsbench shell` in a real terminal (tmux): keys in, screen out, down to a graded
`human` trial in the run report.

tmux comes from Debian; the fixture installs it when it is missing (as root).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbench.metrics import load_results
from opsbench.models.result import Outcome
from opsbench.paths import JobPaths, ProjectPaths
from opsbench.runtime.docker import remove_leftovers
from tests.runtime.conftest import leftovers
from tests.runtime.test_session import GYM

pytestmark = pytest.mark.docker


@pytest.fixture(scope="session")
def tmux_bin() -> str:
    found = shutil.which("tmux")
    if found:
        return found
    if shutil.which("apt-get") is None:
        pytest.fail("tmux is missing and there is no apt-get to install it")
    subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "tmux"],
        check=True,
        capture_output=True,
        env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )
    return shutil.which("tmux") or pytest.fail("tmux did not install")


class Terminal:
    """One tmux session running a command: type into it, read its screen."""

    def __init__(self, tmux: str, command: str, cwd: Path) -> None:
        self.tmux = tmux
        self.name = f"opsbench-test-{uuid.uuid4().hex[:8]}"
        subprocess.run(
            [tmux, "new-session", "-d", "-s", self.name, "-x", "160", "-y", "50", "-c", str(cwd)],
            check=True,
        )
        self.send(f"{command}; echo SHELL-EXIT-$?")

    def send(self, line: str) -> None:
        subprocess.run([self.tmux, "send-keys", "-t", self.name, "-l", line], check=True)
        subprocess.run([self.tmux, "send-keys", "-t", self.name, "Enter"], check=True)

    def screen(self) -> str:
        out = subprocess.run(
            [self.tmux, "capture-pane", "-p", "-J", "-S", "-200", "-t", self.name],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout

    def wait_for(self, pattern: str, timeout: float = 180) -> str:
        """The screen once `pattern` (a regex) is on it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if re.search(pattern, screen):
                return screen
            time.sleep(0.3)
        raise AssertionError(f"{pattern!r} never appeared; screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run([self.tmux, "kill-session", "-t", self.name], check=False)


@pytest.fixture
def terminal(tmux_bin: str) -> Iterator[type[Terminal]]:
    opened: list[Terminal] = []

    def make(command: str, cwd: Path) -> Terminal:
        t = Terminal(tmux_bin, command, cwd)
        opened.append(t)
        return t

    yield make  # type: ignore[misc]
    for t in opened:
        t.close()


@pytest.fixture
def shell_project(project: ProjectPaths, docker_images: None) -> ProjectPaths:
    from tests.runtime.conftest import write_spec

    write_spec(project, "basic", "write-done", GYM)
    return project


PROMPT = r"\[opsbench ~\]#"
EXITED = r"SHELL-EXIT-\d"


def opsbench_cmd(*args: str) -> str:
    return shlex.join([sys.executable, "-m", "opsbench.cli", *args])


def test_shell_session_becomes_a_graded_human_trial(
    shell_project: ProjectPaths, terminal: type[Terminal]
) -> None:
    term = terminal(opsbench_cmd("shell", "write-done"), shell_project.root)  # type: ignore[call-arg]
    term.wait_for(PROMPT)
    term.send("cat /root/prepared && echo done > /root/done")
    term.wait_for("\nprepared\n")
    # The person turns the shell's own recording off: the host's record still has it.
    term.send("PROMPT_COMMAND=; unset -f __opsbench_record")
    term.send("rm -f /tmp/nothing")
    term.send("exit")
    screen = term.wait_for(EXITED)
    assert "SHELL-EXIT-0" in screen, screen
    assert "task gate:       PASS" in screen
    assert "compliance gate: FAIL" in screen, "the unrecorded `rm` is still in the audit"
    assert "rule no-rm: broken" in screen

    job = JobPaths(shell_project.jobs / "human")
    (result,) = load_results(job.dir)
    assert result.outcome == Outcome.GRADED and result.variant.agent == "human"
    assert result.rewards is not None and result.rewards.task and not result.rewards.compliance
    entries = [
        json.loads(line)
        for line in (job.dir / "write-done__1" / "agent" / "commands.jsonl")
        .read_text()
        .splitlines()
    ]
    by_source = {(e["source"], e["command"]) for e in entries}
    assert ("shell", "cat /root/prepared && echo done > /root/done") in by_source
    assert ("tty", "rm -f /tmp/nothing") in by_source
    assert job.report.is_file() and "human" in job.report.read_text()
    assert leftovers("human") == ([], [])


def test_keep_then_attach(shell_project: ProjectPaths, terminal: type[Terminal]) -> None:
    kept = f"kept-{uuid.uuid4().hex[:8]}"
    term = terminal(  # type: ignore[call-arg]
        opsbench_cmd("shell", "write-done", "--keep", "--job-name", kept), shell_project.root
    )
    term.wait_for(PROMPT)
    term.send("echo half > /root/done")
    term.send("exit")
    screen = term.wait_for(EXITED)
    assert "kept running" in screen and "task gate:       FAIL" in screen, screen
    containers, _ = leftovers(kept)
    assert containers, "the environment is still up"
    remove_leftovers(kept)  # a leftover sweep passes a kept environment by
    assert leftovers(kept)[0]
    job = JobPaths(shell_project.jobs / kept)
    assert not load_results(job.dir), "not saved until the session ends"

    again = terminal(  # type: ignore[call-arg]
        opsbench_cmd("shell", "--attach", "--job-name", kept), shell_project.root
    )
    again.wait_for(PROMPT)
    again.send("cat /root/done; echo done > /root/done")
    again.wait_for("\nhalf\n")
    again.send("exit")
    screen = again.wait_for(EXITED)
    assert "SHELL-EXIT-0" in screen and "task gate:       PASS" in screen, screen
    (result,) = load_results(job.dir)
    assert result.outcome == Outcome.GRADED and result.rewards and result.rewards.passed
    commands = (job.dir / "write-done__1" / "agent" / "commands.jsonl").read_text()
    assert "echo half" in commands and "cat /root/done" in commands
    assert leftovers(kept) == ([], [])
