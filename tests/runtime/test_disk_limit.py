"""`resources.storage_mb`: one trial cannot fill the host, and past its limit the trial is
the agent's failure ("disk limit exceeded"), with nothing left running."""

from __future__ import annotations

from opsbench.models.result import Outcome
from opsbench.paths import ProjectPaths
from opsbench.runtime import disk
from tests.runtime.conftest import TrialRunner, leftovers, write_spec

SPEC = """
id: fill-disk
title: write some data
category: basic
difficulty: easy
statement: Write data.
environment:
  resources: {cpus: 0.5, memory_mb: 128, pids: 64, storage_mb: 64}
  timeouts: {agent_sec: 60}
solution:
  - run: "dd if=/dev/zero of=/root/data bs=1M count=${MB} status=none; sync; sleep 8; echo written > /root/ok"
checks:
  - kind: file
    name: wrote
    path: /root/ok
    contains: written
"""


def _spec_with(mb: int) -> str:
    return SPEC.replace("${MB}", str(mb))


def test_a_trial_past_its_disk_limit_is_the_agents_failure(
    project: ProjectPaths, run_task: TrialRunner
) -> None:
    write_spec(project, "basic", "fill-disk", _spec_with(200))

    result, paths = run_task("fill-disk", "oracle", job="disk-over")

    if disk.engine_limits_size():  # the engine refuses the writes itself (ENOSPC)
        assert "No space left" in paths.log.read_text() or result.outcome == Outcome.GRADED
    else:
        assert result.outcome == Outcome.AGENT_ERROR, result.exception
        assert result.exception is not None
        assert "disk limit exceeded" in result.exception.message, result.exception.message
    assert leftovers("disk-over") == ([], [])


def test_a_trial_within_its_disk_limit_is_graded(
    project: ProjectPaths, run_task: TrialRunner
) -> None:
    write_spec(project, "basic", "fill-disk", _spec_with(8))

    result, _ = run_task("fill-disk", "oracle", job="disk-under")

    assert result.outcome == Outcome.GRADED, result.exception
    assert result.rewards is not None and result.rewards.passed
    assert leftovers("disk-under") == ([], [])
