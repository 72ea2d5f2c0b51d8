"""Agents that probe the runtime's guarantees (loaded by import path, like any agent)."""

from __future__ import annotations

import json
import time

from opsbench.agent import Agent, AgentContext
from opsbench.sandbox import Sandbox


class ProbeAgent(Agent):
    """Records what the agent can see into agent/probe.json."""

    name = "probe"

    def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        seen = {}
        for key, command in self.config.kwargs.get("commands", {}).items():
            out = sandbox.exec(command, timeout=30)
            seen[key] = {"exit": out.exit_code, "stdout": out.stdout, "stderr": out.stderr}
        seen["whoami"] = sandbox.exec("whoami").stdout.strip()
        (context.logs_dir / "probe.json").write_text(json.dumps(seen))


class CrashAgent(Agent):
    name = "crash"

    def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        sandbox.exec("echo about to crash")
        raise RuntimeError("the agent blew up")


class SleepAgent(Agent):
    """Sleeps in Python, ignoring everything: the runtime must still enforce the deadline."""

    name = "sleep"

    def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        time.sleep(float(self.config.kwargs.get("seconds", 3600)))


class HogAgent(Agent):
    """Runs a memory bomb and a fork bomb under the task's limits."""

    name = "hog"

    def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        mem = sandbox.exec(
            "python3 -c 'b=[]\nwhile True: b.append(bytearray(50*1024*1024))'", timeout=60
        )
        fork = sandbox.exec("bomb() { bomb | bomb & }; bomb; sleep 3", timeout=15)
        result = {"mem_exit": mem.exit_code, "fork_exit": fork.exit_code}
        (context.logs_dir / "probe.json").write_text(json.dumps(result))


class AsyncEchoAgent(Agent):
    name = "async-echo"

    async def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:  # type: ignore[override]
        sandbox.exec("echo hello from an async agent")


class HarborStyleAgent:
    """Written against Harbor's BaseAgent surface only (async setup/run, env.exec)."""

    def __init__(self, logs_dir, model_name=None, **kwargs):  # type: ignore[no-untyped-def]
        self.logs_dir = logs_dir
        self.greeting = kwargs.get("greeting", "hi")

    async def setup(self, environment):  # type: ignore[no-untyped-def]
        await environment.exec("mkdir -p /root/harbor")

    async def run(self, instruction, environment, context):  # type: ignore[no-untyped-def]
        result = await environment.exec("echo done > /root/done && cat /root/done")
        (self.logs_dir / "harbor.txt").write_text(
            f"{self.greeting} {result.return_code} {result.stdout}"
        )
        context.n_input_tokens = 7


class ScriptAgent(Agent):
    """Runs `commands` in order, records them in an ATIF trajectory, answers `answer`."""

    name = "script"

    def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        from opsbench.models.trajectory import (
            AtifAgent,
            Observation,
            ObservationResult,
            ToolCall,
            TrajectoryWriter,
        )

        writer = TrajectoryWriter(context.trajectory_path, AtifAgent(name="script", version="1"))
        writer.add(source="user", message=instruction)
        for i, command in enumerate(self.config.kwargs.get("commands", [])):
            out = sandbox.exec(command, timeout=30)
            call = ToolCall(
                tool_call_id=f"c{i}", function_name="run_shell", arguments={"command": command}
            )
            result = ObservationResult(source_call_id=f"c{i}", content=out.stdout + out.stderr)
            writer.add(
                source="agent",
                message="",
                tool_calls=[call],
                observation=Observation(results=[result]),
            )
        answer = str(self.config.kwargs.get("answer", ""))
        writer.add(source="agent", message=answer)
        writer.finish(final_answer=answer)
