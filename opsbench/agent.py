"""The agent boundary: the base class, what an agent is given, and loading by import path.

An agent gets the instruction, a `Sandbox` (every exec audited) and an `AgentContext`
(model settings, where to write its trajectory, the usage counters, a cancel flag). It
returns nothing; what it did is in its trajectory and the audit record.

Agents load by short built-in name or `module:Class`. An unknown name lists the known ones.
"""

from __future__ import annotations

import difflib
import importlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from opsbench.errors import OpsbenchError
from opsbench.gateway.access import GatewayAccess
from opsbench.models.result import UsageCounters
from opsbench.paths import TrialPaths
from opsbench.runtime.base import AgentLayer
from opsbench.sandbox import Sandbox

BUILTIN_AGENTS: dict[str, str] = {
    "nop": "agents.nop:NopAgent",
    "oracle": "agents.oracle:OracleAgent",
    "sre": "agents.sre_agent:SreAgent",
    "random": "agents.baselines:RandomAgent",
    "scripted": "agents.baselines:ScriptedAgent",
    "human": "agents.human:HumanAgent",
    # Installed CLIs (agents/installed/): run inside the task container, via the gateway.
    "opencode": "agents.installed.opencode:OpenCodeAgent",
    "mini-swe-agent": "agents.installed.mini_swe_agent:MiniSweAgent",
    "codex": "agents.installed.codex:CodexAgent",
    "claude-code": "agents.installed.claude_code:ClaudeCodeAgent",
    # The red team (agents/redteam/): exploits `opsbench validate` runs on every task.
    "redteam-fake-binaries": "agents.redteam.fakes:FakeBinaries",
    "redteam-overwrite-binaries": "agents.redteam.fakes:OverwriteBinaries",
    "redteam-exec-wrapper": "agents.redteam.fakes:ExecWrapper",
    "redteam-unapplied-edit": "agents.redteam.interference:UnappliedEdit",
    "redteam-leftover-processes": "agents.redteam.interference:LeftoverProcesses",
    "redteam-kill-services": "agents.redteam.interference:KillServices",
    "redteam-hosts-redirect": "agents.redteam.interference:HostsRedirect",
    "redteam-catalog-shadow": "agents.redteam.interference:CatalogShadow",
    "redteam-combined": "agents.redteam.interference:Combined",
    "redteam-shotgun": "agents.redteam.answers:Shotgun",
    "redteam-echo-citations": "agents.redteam.answers:EchoCitations",
    "redteam-forged-observations": "agents.redteam.answers:ForgedObservations",
    "redteam-log-tamper": "agents.redteam.answers:LogTamper",
}


@dataclass
class AgentConfig:
    """Model settings and free-form agent options (`--agent-kwarg key=value`)."""

    model: str | None = None
    reasoning_effort: str = "off"
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class AgentContext:
    task_id: str
    config: AgentConfig
    logs_dir: Path
    """`<trial>/agent/`: the agent writes `trajectory.json` here."""
    task_dir: Path
    """The compiled task on the host. Only calibration agents (oracle) may read it."""
    scenario_time: str | None = None
    usage: UsageCounters = field(default_factory=UsageCounters)
    cancelled: threading.Event = field(default_factory=threading.Event)
    extra: dict[str, Any] = field(default_factory=dict)
    gateway: GatewayAccess | None = None
    """Set for agents with `uses_gateway`, for the agent phase only."""

    @property
    def trajectory_path(self) -> Path:
        return TrialPaths(self.logs_dir.parent).trajectory


class Agent(ABC):
    """Subclass and implement `run` (sync or `async def`)."""

    name: ClassVar[str] = "agent"
    version: ClassVar[str] = "0"
    interactive: ClassVar[bool] = False
    """Driven by a person (`opsbench shell`), never by a job."""
    uses_gateway: ClassVar[bool] = False
    """Calls models from inside the task container: the trial joins the job's model
    gateway to its network and hands the agent `context.gateway` (a virtual key)."""

    def __init__(self, config: AgentConfig) -> None:
        self.config = config

    @classmethod
    def install_layer(cls, kwargs: dict[str, Any]) -> AgentLayer | None:
        """An image layer to build over the task image before the trial (an installed
        CLI); None for agents that run on the host."""
        return None

    @classmethod  # noqa: B027 - an optional hook: most agents take any variant
    def check_variant(
        cls, model: str | None, reasoning_effort: str, kwargs: dict[str, Any]
    ) -> None:
        """Raise `OpsbenchError` for settings this agent cannot honour: called when the job
        is configured (a dry run too), so such a job never starts."""

    @abstractmethod
    def run(
        self, instruction: str, sandbox: Sandbox, context: AgentContext
    ) -> Awaitable[None] | None:
        """Work on the task. Raise to report a crash; return when done."""


class UnknownAgent(OpsbenchError):
    pass


def resolve_agent(name: str) -> type[Agent]:
    """A built-in short name or `module:Class` -> the agent class."""
    target = BUILTIN_AGENTS.get(name, name)
    if ":" not in target:
        close = difflib.get_close_matches(name, BUILTIN_AGENTS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownAgent(
            f"unknown agent {name!r}{hint}; built-ins: {', '.join(sorted(BUILTIN_AGENTS))}; "
            "or pass module:Class"
        )
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UnknownAgent(f"cannot import agent module {module_name!r}: {exc}") from exc
    cls = getattr(module, class_name, None)
    if cls is None:
        raise UnknownAgent(f"module {module_name!r} has no class {class_name!r}")
    if not (isinstance(cls, type) and issubclass(cls, Agent)):
        raise UnknownAgent(
            f"{target} is not an opsbench agent (subclass opsbench.agent.Agent; "
            "for a Harbor BaseAgent, wrap it with agents.harbor_shim)"
        )
    return cls
