"""The trial template against the fake runtime: a compiled task and a trial runner."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from opsbench.compile import read_task_checksum
from opsbench.models.result import TrialResult
from opsbench.models.trial import TrialConfig
from opsbench.paths import JobPaths, ProjectPaths, TaskPaths, TrialPaths
from opsbench.sync import sync
from opsbench.trial.run import run_trial
from tests.fakes.runtime import FakeRuntime

REPO = Path(__file__).resolve().parents[2]

SPEC = """
id: restart-web
category: basic
title: restart the web server
difficulty: easy
statement: The web server is down; bring it back and leave /root/done saying done.
checks:
  - {kind: command, name: done-file, run: cat /root/done, stdout_matches: "^done$"}
prepare: [{run: echo stopped > /root/web.state}]
solution: [{run: echo done > /root/done}]
restore: [{run: echo restored}]
environment: {timeouts: {agent_sec: 20}}
"""

PROBE = "tests.runtime.probe_agents:ProbeAgent"
"""Runs its `commands` through its sandbox: one exec reaches the runtime in the agent phase."""


@dataclass
class Ran:
    result: TrialResult
    paths: TrialPaths
    runtime: FakeRuntime

    def phase_order(self) -> list[str]:
        """Phases in the order trial.log says they started."""
        lines = self.paths.log.read_text().splitlines()
        return [line.split()[2].rstrip(":") for line in lines if ": start" in line]


Runner = Callable[..., Ran]


@pytest.fixture(scope="module")
def task(tmp_path_factory: pytest.TempPathFactory) -> TaskPaths:
    root = tmp_path_factory.mktemp("project")
    (root / "tasks-spec" / "basic").mkdir(parents=True)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "environment" / "base", root / "environment" / "base")
    (root / "tasks-spec" / "basic" / "restart-web.yaml").write_text(SPEC)
    project = ProjectPaths(root)
    sync(project)
    return TaskPaths(project.tasks / "restart-web")


@pytest.fixture
def trial_paths(tmp_path: Path) -> TrialPaths:
    """Where the runner's trial lands (read it after a run that raised)."""
    return JobPaths(tmp_path / "jobs" / "fake-job").trial("restart-web", 1)


@pytest.fixture
def run(task: TaskPaths, trial_paths: TrialPaths) -> Runner:
    """Run one trial of the task with `agent` against `runtime` (the agent's commands as
    keyword arguments); the check passes when the runtime answers `cat /root/done`."""

    def runner(
        runtime: FakeRuntime | None = None,
        agent: str = PROBE,
        cancel: threading.Event | None = None,
        timeout_multiplier: float = 1.0,
        **agent_kwargs: Any,
    ) -> Ran:
        runtime = runtime or FakeRuntime()
        runtime.commands.setdefault("cat /root/done", "done\n")
        config = TrialConfig(
            job_name="fake-job",
            trial_name="restart-web__1",
            task_id="restart-web",
            attempt=1,
            task_dir=str(task.dir),
            task_checksum=read_task_checksum(task),
            agent=agent,
            agent_kwargs=agent_kwargs or {"commands": {"done": "echo done > /root/done"}},
            scenario_time=datetime(2026, 1, 1, tzinfo=UTC),
            agent_timeout_multiplier=timeout_multiplier,
        )
        result = run_trial(config, trial_paths.dir, cancel, runtime=runtime)
        return Ran(result, trial_paths, runtime)

    return runner
