"""The runtime seam: what a trial needs from wherever its environment runs.

A `Runtime` builds the task's image and provisions one trial's environment from a typed
`EnvironmentPlan`; the `TrialEnvironment` it returns is the trial's only handle on that
environment afterwards. The trial template (`opsbench.trial.run`) speaks only to these
two classes, so Docker (`opsbench.runtime.environment.DockerRuntime`), a Ray node, a
verifier probe or an interactive session can sit behind it, and tests can run the whole
template against a fake without Docker.

The agent never sees this seam: it gets a `Sandbox` (`opsbench.sandbox`), the handle
`agent_sandbox()` returns.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grading.checks import ExecResult, FileReader, ProcessLister
from opsbench.models.spec import TaskSpec
from opsbench.sandbox import Sandbox

TrialLog = Callable[[str], None]
"""Appends one line to the trial's `trial.log`."""


@dataclass(frozen=True)
class Archive:
    """Files put into a container before it starts (tar bytes extracted at `path`)."""

    path: str
    data: bytes


@dataclass
class SidecarPlan:
    name: str
    image: str
    port: int
    healthcheck: list[str] | None
    environment: dict[str, str] = field(default_factory=dict)
    command: list[str] | None = None
    archives: list[Archive] = field(default_factory=list)


@dataclass
class EnvironmentPlan:
    """Everything a runtime needs to provision one trial, decided before it starts."""

    job: str
    trial: str
    image: str
    spec: TaskSpec
    sidecars: list[SidecarPlan]
    main_archives: list[Archive] = field(default_factory=list)
    cpus: float | None = None
    memory_mb: int | None = None
    instance: str = ""
    """What makes the trial unique on its engine (its directory): two checkouts running a
    job of the same name side by side must not share container names."""


@dataclass(frozen=True)
class ContainerState:
    """The main container as the runtime last saw it. A container that is gone, or was
    never created, is not running; `error` says why when the runtime knows."""

    running: bool
    oom_killed: bool = False
    exit_code: int | None = None
    error: str = ""


class Verifier(ABC):
    """The trusted side of grading for one trial (DESIGN: the trust boundary).

    `exec` runs opsbench's own tools in the task's network; `file_reader` reads the
    task's files without its binaries (None: read them through `exec`); `task_exec` is the
    task container itself, for checks that declare they run the task's own program.
    """

    @abstractmethod
    def exec(self, command: str, user: str, timeout: float) -> ExecResult:
        """Run a command with the verifier's tools."""

    @abstractmethod
    def task_exec(self, command: str, user: str, timeout: float) -> ExecResult:
        """Run a command in the task container (the agent's binaries)."""

    @property
    def file_reader(self) -> FileReader | None:
        return None

    @property
    def process_lister(self) -> ProcessLister | None:
        return None

    def stop_foreground(self) -> list[str]:
        """Stop the agent's exec sessions still running; returns what was stopped."""
        return []

    def close(self) -> None:  # noqa: B027 - an optional hook; most verifiers hold nothing
        """Release what the verifier holds (teardown removes its container anyway)."""


class SandboxVerifier(Verifier):
    """A verifier over the environment's root handle: for runtimes with no separate
    verifier container (fakes in tests). Not trusted against an adversarial agent."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def exec(self, command: str, user: str, timeout: float) -> ExecResult:
        out = self.sandbox.exec(command, timeout=timeout, user=user)
        return ExecResult(out.exit_code, out.stdout, out.stderr)

    def task_exec(self, command: str, user: str, timeout: float) -> ExecResult:
        return self.exec(command, user, timeout)


class TrialEnvironment(ABC):
    """One provisioned trial environment: handles into it, its state, its teardown."""

    def open_verifier(self) -> Verifier:
        """The trusted verifier for the verify phase (joined now, removed at teardown)."""
        return SandboxVerifier(self.verifier)

    @property
    @abstractmethod
    def verifier(self) -> Sandbox:
        """The trusted handle (root) for prepare, grading and restore; frozen only by
        teardown, so it keeps working after the agent's handle was frozen."""

    @abstractmethod
    def agent_sandbox(self) -> Sandbox:
        """A new handle for the agent, as the task's agent user; `freeze` closes it."""

    @abstractmethod
    def main_state(self) -> ContainerState:
        """Whether the main container still runs (the agent may have killed it)."""

    @abstractmethod
    def freeze(self) -> None:
        """Stop the agent from acting (timeout, cancel): its handles refuse further execs."""

    @abstractmethod
    def teardown(self) -> None:
        """Remove everything the environment holds. Idempotent; never raises."""

    def connect(self, container: str, alias: str) -> None:
        """Join an outside container (the job's model gateway) to the trial's network,
        reachable there as `alias`; teardown disconnects it and never removes it."""
        from opsbench.failures import InfraError

        raise InfraError(f"the {type(self).__name__} runtime cannot join the model gateway")


@dataclass(frozen=True)
class AgentLayer:
    """An installed agent as an image layer over the task image (`agent.install_layer`)."""

    agent: str
    version: str
    dockerfile: str
    """Starts `ARG BASE` / `FROM ${BASE}`; installs with the registries' own clients."""


class Runtime(ABC):
    """Where trial environments run. Stateless across trials: one instance may serve
    every trial of a job, from several threads at once."""

    name: str = "runtime"

    @abstractmethod
    def ensure_image(self, environment: Path, task_id: str, timeout: float) -> str:
        """Build (or find cached) the image of a task's `environment/` directory; returns
        the reference `EnvironmentPlan.image` takes."""

    @abstractmethod
    def provision(
        self, plan: EnvironmentPlan, timeout: float, trial_log: TrialLog
    ) -> TrialEnvironment:
        """Start the planned environment within `timeout` seconds. On failure it removes
        whatever it had started before raising: no handle, nothing left behind."""

    def ensure_agent_image(self, image: str, layer: AgentLayer, timeout: float) -> str:
        """`image` with `layer` installed, built once per agent, version and image."""
        raise NotImplementedError(f"the {self.name} runtime cannot install agents")
