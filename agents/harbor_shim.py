"""Run an agent written for Harbor's `BaseAgent` inside opsbench.

Harbor agents talk to a `BaseEnvironment` (`await env.exec(command, cwd=, env=,
timeout_sec=, user=)` returning `.stdout/.stderr/.return_code`, `upload_file/dir`,
`download_file/dir`, `default_user`) and receive a context object. `HarborEnvironment`
provides that surface over an opsbench `Sandbox`, so every command still lands in the audit
record; `HarborAgentShim` constructs the Harbor agent and calls its `setup` and `run`.

    opsbench job --agent-import-path agents.harbor_shim:HarborAgentShim \\
        --agent-kwarg harbor_agent=my_pkg.agents:MyHarborAgent --model openai/gpt-4o-mini

or subclass `HarborAgentShim` and set `harbor_agent = MyHarborAgent`. Harbor itself is not
a dependency: its agent classes import it (and need Python >= 3.12).
"""

from __future__ import annotations

import asyncio
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from opsbench.agent import Agent, AgentContext
from opsbench.errors import OpsbenchError
from opsbench.sandbox import Sandbox


@dataclass
class HarborExecResult:
    return_code: int
    stdout: str | None
    stderr: str | None


@dataclass
class HarborContext:
    """Stands in for Harbor's AgentContext when Harbor is not installed."""

    n_input_tokens: int | None = None
    n_output_tokens: int | None = None
    cost_usd: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class HarborEnvironment:
    """The part of Harbor's BaseEnvironment agents use, over an opsbench Sandbox."""

    def __init__(self, sandbox: Sandbox, default_user: str | None = None) -> None:
        self.sandbox = sandbox
        self.default_user = default_user

    async def exec(
        self,
        command: str,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout_sec: int | None = None,
        user: str | int | None = None,
    ) -> HarborExecResult:
        who = user if user is not None else self.default_user
        out = await asyncio.to_thread(
            self.sandbox.exec,
            command,
            timeout=float(timeout_sec or 600),
            user=str(who) if who is not None else None,
            env=env,
            cwd=cwd,
        )
        return HarborExecResult(out.exit_code, out.stdout, out.stderr)

    async def upload_file(self, source_path: Path | str, target_path: str) -> None:
        await asyncio.to_thread(self.sandbox.upload, Path(source_path), target_path)

    async def upload_dir(self, source_dir: Path | str, target_dir: str) -> None:
        await asyncio.to_thread(self.sandbox.upload, Path(source_dir), target_dir)

    async def download_file(self, source_path: str, target_path: Path | str) -> None:
        await asyncio.to_thread(self.sandbox.download, source_path, Path(target_path))

    async def download_dir(self, source_dir: str, target_dir: Path | str) -> None:
        await asyncio.to_thread(self.sandbox.download, source_dir, Path(target_dir))


def _load(path: str) -> type[Any]:
    module, _, name = path.partition(":")
    try:
        cls: type[Any] = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise OpsbenchError(f"cannot load Harbor agent {path!r}: {exc}") from exc
    return cls


class HarborAgentShim(Agent):
    name = "harbor-shim"
    version = "1"
    harbor_agent: ClassVar[type[Any] | None] = None

    async def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        cls = type(self).harbor_agent
        if cls is None:
            target = self.config.kwargs.get("harbor_agent")
            if not target:
                raise OpsbenchError("harbor-shim needs --agent-kwarg harbor_agent=module:Class")
            cls = _load(str(target))
        options = {k: v for k, v in self.config.kwargs.items() if k != "harbor_agent"}
        agent = cls(logs_dir=context.logs_dir, model_name=self.config.model, **options)
        env = HarborEnvironment(sandbox)
        harbor_context = _harbor_context()
        await agent.setup(env)
        await agent.run(instruction, env, harbor_context)
        usage = context.usage
        usage.input_tokens += int(getattr(harbor_context, "n_input_tokens", 0) or 0)
        usage.output_tokens += int(getattr(harbor_context, "n_output_tokens", 0) or 0)
        usage.cost_usd += float(getattr(harbor_context, "cost_usd", 0.0) or 0.0)


def _harbor_context() -> Any:
    try:
        from harbor.models.agent.context import (  # type: ignore[import-not-found]
            AgentContext as HarborAgentContext,
        )
    except ImportError:
        return HarborContext()
    return HarborAgentContext()
