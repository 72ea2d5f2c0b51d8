"""Agent phase: load the agent by import path and run it against the audited sandbox.

The agent runs in its own thread so its deadline and cancellation are enforced from
outside: on either, the sandbox is frozen (further execs raise SandboxClosed) and the
trial moves on without waiting for the agent's code to notice. Async agents get their own
event loop in that thread.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from typing import Any

from opsbench.agent import Agent, AgentConfig, AgentContext, resolve_agent
from opsbench.failures import AgentError, AgentTimeout, Cancelled, TrialFailure
from opsbench.sandbox import AuditedSandbox, Sandbox
from opsbench.trial.gateway import close_lease, open_lease
from opsbench.trial.state import TrialState


def instruction_for(state: TrialState) -> str:
    """The task's instruction plus what the agent must know about this run: the scenario
    time (observability data ends there) and the sidecars it can reach. Harbor's own notes
    in the compiled instruction give way to this run's (`opsbench.run_notes`)."""
    from opsbench.run_notes import for_opsbench

    text = state.task.instruction.read_text(encoding="utf-8")
    stamp = state.config.scenario_time.isoformat().replace("+00:00", "Z")
    return for_opsbench(text, state.spec, stamp)


def run_agent(state: TrialState, sandbox: Sandbox) -> None:
    """Run the agent on `sandbox` (its own handle, as the task's agent user)."""
    cfg = state.config
    agent_cls = resolve_agent(cfg.agent)
    agent = agent_cls(AgentConfig(cfg.model, cfg.reasoning_effort, dict(cfg.agent_kwargs)))
    instruction = instruction_for(state)
    state.paths.instruction.write_text(instruction, encoding="utf-8")
    audited = AuditedSandbox(sandbox, state.paths.commands)
    timeout = state.spec.environment.timeouts.agent_sec * cfg.agent_timeout_multiplier
    context = AgentContext(
        task_id=cfg.task_id,
        config=agent.config,
        logs_dir=state.paths.agent,
        task_dir=state.task.dir,
        scenario_time=cfg.scenario_time.isoformat(),
        usage=state.usage,
        extra={
            "provider_settings": dict(cfg.provider_settings),
            "seed": cfg.seed,
            "agent_timeout_sec": timeout,
        },
    )
    opened = open_lease(state, agent_cls)  # the model gateway, for agents that use it
    try:
        if opened is not None:
            context.gateway = opened[1].access
        lease = opened[1] if opened is not None else None
        _run(
            state,
            agent,
            instruction,
            audited,
            context,
            timeout,
            lambda: lease.failure if lease else None,
        )
    finally:
        close_lease(state, opened)


def _run(
    state: TrialState,
    agent: Agent,
    instruction: str,
    audited: Sandbox,
    context: AgentContext,
    timeout: float,
    failure: Callable[[], Exception | None],
) -> None:
    """Run the agent in its own thread; a model call failed for good behind the gateway
    (`failure`) ends it as `ProviderCallFailed` ends the built-in agent."""
    cfg = state.config
    box: dict[str, BaseException] = {}

    def target() -> None:
        try:
            result: Any = agent.run(instruction, audited, context)
            if inspect.isawaitable(result):
                asyncio.run(_awaited(result))
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"agent-{cfg.trial_name}", daemon=True)
    thread.start()
    _wait(state, thread, timeout, context, failure)
    provider_failure = failure()
    if provider_failure is not None:
        raise provider_failure
    if "error" in box:
        exc = box["error"]
        if isinstance(exc, TrialFailure):
            raise exc
        raise AgentError(f"{type(exc).__name__}: {exc}") from exc


async def _awaited(awaitable: Any) -> None:
    await awaitable


def _wait(
    state: TrialState,
    thread: threading.Thread,
    timeout: float,
    ctx: AgentContext,
    failure: Callable[[], Exception | None],
) -> None:
    waited = 0.0
    while thread.is_alive():
        thread.join(0.1)
        waited += 0.1
        provider_failure = failure()
        if provider_failure is not None:  # as `sre` stops on ProviderCallFailed
            ctx.cancelled.set()
            _freeze(state)
            raise provider_failure
        if state.cancel.is_set():
            ctx.cancelled.set()
            _freeze(state)
            raise Cancelled("cancelled during the agent phase")
        if waited >= timeout and thread.is_alive():
            ctx.cancelled.set()
            _freeze(state)
            raise AgentTimeout(f"the agent did not finish within {timeout:g}s")


def _freeze(state: TrialState) -> None:
    if state.env is not None:
        state.env.freeze()
