"""`opsbench.open`: a task driven step by step against real Docker.

What a notebook user depends on: the environment is prepared like a trial's, every exec
lands in the audit record, `grade()` gives the trial's typed verdicts (compliance too),
`reset()` is a fresh prepared environment, `record=` makes trials the reports read, and
a killed session leaves nothing after the next leftover sweep.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

import opsbench
from opsbench.errors import OpsbenchError
from opsbench.metrics import load_results
from opsbench.models.result import Outcome
from opsbench.models.verdict import GradingDetails
from opsbench.paths import JobPaths, ProjectPaths
from opsbench.runtime.docker import remove_leftovers
from opsbench.sandbox import read_commands
from tests.runtime.conftest import leftovers, write_spec

pytestmark = pytest.mark.docker

GYM = """
id: write-done
title: write a file
category: basic
difficulty: easy
statement: Create /root/done containing the word done. Do not use rm.
environment:
  resources: {cpus: 0.5, memory_mb: 128, pids: 64}
  timeouts: {agent_sec: 60}
prepare:
  - run: echo prepared > /root/prepared
solution:
  - run: echo done > /root/done
checks:
  - kind: file
    name: done-file
    path: /root/done
    contains: done
compliance:
  - kind: forbid
    name: no-rm
    pattern: '\\brm\\b'
    instruct: Do not use rm.
"""


@pytest.fixture
def gym_project(project: ProjectPaths, docker_images: None) -> ProjectPaths:
    write_spec(project, "basic", "write-done", GYM)
    return project


def test_unknown_task_lists_close_matches(gym_project: ProjectPaths) -> None:
    with pytest.raises(OpsbenchError, match="did you mean write-done"):
        opsbench.open("write-dune", root=gym_project.root)


def test_act_grade_reset(gym_project: ProjectPaths) -> None:
    with opsbench.open("write-done", root=gym_project.root) as env:
        assert "Create /root/done" in env.instruction
        assert env.exec("cat /root/prepared").stdout.strip() == "prepared"
        assert env.exec("test -e /opt/opsbench/prepare.sh").exit_code == 1

        first = env.grade()
        assert isinstance(first, GradingDetails)
        assert not first.score.task and first.score.compliance

        env.exec("echo done > /root/done")
        env.exec("rm -f /tmp/nothing")
        second = env.grade()
        assert second.score.task
        assert not second.score.compliance, "the audited `rm` breaks the compliance rule"
        assert [r.passed for r in second.compliance] == [False]
        commands = [c.command for c in read_commands(env.trial.commands)]
        assert commands == [
            "cat /root/prepared",
            "test -e /opt/opsbench/prepare.sh",
            "echo done > /root/done",
            "rm -f /tmp/nothing",
        ]
        old_trial = env.trial.dir

        env.reset()
        assert env.trial.dir != old_trial, "a new episode is a new trial"
        assert env.exec("cat /root/prepared").stdout.strip() == "prepared"
        assert env.exec("test -e /root/done").exit_code == 1, "the fix is gone"
        fresh = env.grade()
        assert not fresh.score.task and fresh.score.compliance
        job = env.job.name
    assert leftovers(job) == ([], [])
    with pytest.raises(OpsbenchError, match="closed"):
        env.exec("true")


def test_record_saves_trials_the_report_reads(gym_project: ProjectPaths) -> None:
    jobs = gym_project.jobs
    with opsbench.open(
        "write-done", root=gym_project.root, record="notebook", agent="human"
    ) as env:
        env.exec("echo done > /root/done")
        env.reset()  # the first episode is graded and saved here; the second never acts
    job = JobPaths(jobs / "notebook")
    results = sorted(load_results(job.dir), key=lambda r: r.attempt)
    assert [(r.trial_name, r.outcome) for r in results] == [
        ("write-done__1", Outcome.GRADED),
        ("write-done__2", Outcome.GRADED),
    ]
    assert [r.rewards.passed for r in results if r.rewards] == [True, False]
    assert {r.variant.agent for r in results} == {"human"}
    assert job.report.is_file() and job.result.is_file()
    assert "write-done" in job.report.read_text()
    summary = json.loads(job.result.read_text())
    assert summary, "the job summary is written"
    # another session appends attempt 3 to the same job
    with opsbench.open("write-done", root=gym_project.root, record="notebook", agent="human"):
        pass
    assert (job.dir / "write-done__3" / "result.json").is_file()
    with pytest.raises(OpsbenchError, match="refusing to mix"):
        opsbench.open("write-done", root=gym_project.root, record="notebook", agent="robot")


def test_killed_session_is_swept(gym_project: ProjectPaths) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time, opsbench
        env = opsbench.open("write-done", root={str(gym_project.root)!r})
        print(env.job.name, flush=True)
        time.sleep(600)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        assert proc.stdout is not None
        job = proc.stdout.readline().strip()
        assert job.startswith("session-")
        containers, networks = leftovers(job)
        assert containers and networks
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    remove_leftovers(job)  # what the next preflight does, for this session's job
    assert leftovers(job) == ([], [])
