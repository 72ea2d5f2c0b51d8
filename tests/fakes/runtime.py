"""An in-memory `Runtime` for fast trial-template tests: no Docker, every call recorded.

The environment's handles are `FakeSandbox`es (tests/fakes/sandbox.py) answering from one
`commands` map. The runtime can be told to fail or hang in a phase; each phase touches the
runtime at one place:

    preflight  `ensure_image`           prepare  the verifier running prepare.sh
    provision  `provision`              agent    any exec through the agent's handle
    verify     any other verifier exec  restore  the verifier running a restore step

`fail_in` raises `failure` there (in the agent's own thread for "agent"); `hang_in` blocks
there until the agent's handle is frozen, the environment torn down, or `release()`; `on`
runs a callback there first (set a cancel flag, stop the main container).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from opsbench.runtime.base import (
    ContainerState,
    EnvironmentPlan,
    Runtime,
    TrialEnvironment,
    TrialLog,
)
from opsbench.sandbox import Endpoint, ExecOutput, Sandbox, SandboxClosed
from opsbench.trial.prepare import PREPARE_PATH
from tests.fakes.sandbox import Answer, FakeSandbox

HANG_LIMIT_SEC = 30.0
"""A hang nobody releases fails the test instead of blocking the suite."""


@dataclass
class FakeRuntime(Runtime):
    commands: dict[str, Answer] = field(default_factory=dict)
    fail_in: str | None = None
    failure: BaseException = field(default_factory=lambda: RuntimeError("runtime exploded"))
    hang_in: str | None = None
    on: dict[str, Callable[[], None]] = field(default_factory=dict)
    touched: list[str] = field(default_factory=list)
    """Every phase that reached the runtime, in order (one entry per touch)."""
    environments: list[FakeEnvironment] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)

    name = "fake"

    def __post_init__(self) -> None:
        self.commands.setdefault(f"bash {PREPARE_PATH}", "prepared\n")  # prepare succeeds

    @property
    def env(self) -> FakeEnvironment:
        """The one environment a trial provisioned."""
        (only,) = self.environments
        return only

    def release(self) -> None:
        self.released.set()

    def touch(self, phase: str) -> None:
        self.touched.append(phase)
        if phase in self.on:
            self.on[phase]()
        if phase == self.hang_in and not self.released.wait(HANG_LIMIT_SEC):
            raise AssertionError(f"the {phase} hang was never released")
        if phase == self.fail_in:
            raise self.failure

    def ensure_image(self, environment: Path, task_id: str, timeout: float) -> str:
        self.touch("preflight")
        return f"fake-task-{task_id}:latest"

    def provision(
        self, plan: EnvironmentPlan, timeout: float, trial_log: TrialLog
    ) -> FakeEnvironment:
        env = FakeEnvironment(self, plan)
        self.environments.append(env)
        try:
            self.touch("provision")
        except BaseException:
            env.teardown()  # the contract: a failed provision leaves nothing behind
            raise
        trial_log(f"fake environment for {plan.trial}")
        return env


class FakeEnvironment(TrialEnvironment):
    def __init__(self, runtime: FakeRuntime, plan: EnvironmentPlan) -> None:
        self.runtime = runtime
        self.plan = plan
        self.main = ContainerState(running=True)
        self.freezes = 0
        self.teardowns = 0
        self.agent_handles: list[FakeHandle] = []
        self._restore_steps = {step.run for step in plan.spec.restore}
        self._verifier = FakeHandle(self, self._verifier_phase, "root")

    def _verifier_phase(self, command: str) -> str:
        if PREPARE_PATH in command:
            return "prepare"
        return "restore" if command in self._restore_steps else "verify"

    def stop_main(self, oom_killed: bool = False) -> None:
        """What an agent that kills PID 1 (or runs out of memory) leaves behind."""
        self.main = ContainerState(running=False, oom_killed=oom_killed, exit_code=137)

    @property
    def verifier(self) -> FakeHandle:
        return self._verifier

    def agent_sandbox(self) -> FakeHandle:
        handle = FakeHandle(self, lambda _command: "agent", self.plan.spec.environment.agent_user)
        self.agent_handles.append(handle)
        return handle

    def main_state(self) -> ContainerState:
        return self.main

    def freeze(self) -> None:
        self.freezes += 1
        for handle in self.agent_handles:
            handle.close()

    def teardown(self) -> None:
        self.teardowns += 1
        for handle in [*self.agent_handles, self._verifier]:
            handle.close()
        self.main = ContainerState(running=False, error="torn down")


class FakeHandle(Sandbox):
    """A `FakeSandbox` behind the runtime's phase hooks, closed by freeze or teardown."""

    def __init__(
        self, env: FakeEnvironment, phase_of: Callable[[str], str], user: str | None
    ) -> None:
        self.env = env
        self.phase_of = phase_of
        self.default_user = user
        self.inner = FakeSandbox(commands=env.runtime.commands, endpoint_map={})
        self.closed = threading.Event()

    def close(self) -> None:
        self.closed.set()
        self.env.runtime.release()  # a hang in this handle ends with it

    def exec(
        self,
        command: str,
        *,
        timeout: float = 60,
        user: str | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
    ) -> ExecOutput:
        if self.closed.is_set():
            raise SandboxClosed("the sandbox is closed")
        self.env.runtime.touch(self.phase_of(command))
        if self.closed.is_set():
            raise SandboxClosed("the sandbox was closed during the command")
        return self.inner.exec(command, timeout=timeout, user=user or self.default_user)

    def upload(self, local: Path, remote: str) -> None:
        self.inner.upload(local, remote)

    def download(self, remote: str, local: Path) -> None:
        self.inner.download(remote, local)

    @property
    def endpoints(self) -> dict[str, Endpoint]:
        return {}
