"""Baselines that need no model: a random agent and a scripted generic runbook.

Both act only through the `sre` agent's tools (`agents.sre_agent.SreTools`), so their
actions are the same kinds an LLM could take, audited the same way, and both leave ATIF
trajectories. They mark the floor an LLM agent should clear:

- `RandomAgent` (`random`) takes `steps` valid but random read-only actions from the tool
  set — seeded by the `seed` kwarg (else the trial's seed) — then submits a non-answer;
- `ScriptedAgent` (`scripted`) runs a fixed runbook — logs, processes, listening ports,
  disk and memory, metrics and alerts — and submits a summary of what it saw.
"""

from __future__ import annotations

import json
import random
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.sre_agent import SreTools, ToolResult, tool_definitions
from opsbench.agent import Agent, AgentConfig, AgentContext
from opsbench.failures import Cancelled
from opsbench.models.trajectory import (
    AtifAgent,
    FinalMetrics,
    Observation,
    ObservationResult,
    ToolCall,
    TrajectoryWriter,
)
from opsbench.providers import ProviderConfigError
from opsbench.sandbox import Sandbox

READ_ONLY_COMMANDS = (
    "ps aux",
    "ss -ltnp 2>/dev/null || netstat -ltnp",
    "df -h",
    "free -m",
    "uptime",
    "ls -la /var/log",
    "tail -n 50 /var/log/syslog 2>/dev/null || true",
    "cat /etc/os-release",
    "ls /etc",
    "id",
    "env | sort | head -n 30",
    "dmesg 2>/dev/null | tail -n 20 || true",
)
PROMQL = (
    "up",
    "up == 0",
    "ALERTS",
    "sum by (job) (up)",
    "process_resident_memory_bytes",
    "rate(process_cpu_seconds_total[5m])",
)


class ToolRecorder:
    """Writes the trajectory of a model-free agent: one agent step per tool call (scripted
    agents in tests use it too, so their actions are audited like an LLM's)."""

    def __init__(self, agent: Agent, sandbox: Sandbox, context: AgentContext) -> None:
        self.tools = SreTools(sandbox)
        self.context = context
        self.calls = 0
        self.writer = TrajectoryWriter(
            context.trajectory_path,
            AtifAgent(
                name=agent.name,
                version=agent.version,
                tool_definitions=tool_definitions(),
                extra={"options": dict(agent.config.kwargs)},
            ),
            session_id=context.task_id,
        )

    def act(self, name: str, arguments: dict[str, Any], message: str = "") -> ToolResult:
        if self.context.cancelled.is_set():
            raise Cancelled("the agent was cancelled")
        self.calls += 1
        call_id = f"call_{self.calls}"
        step = self.writer.add(
            source="agent",
            message=message,
            tool_calls=[ToolCall(tool_call_id=call_id, function_name=name, arguments=arguments)],
        )
        result = self.tools.call(name, arguments)
        step.observation = Observation(
            results=[ObservationResult(source_call_id=call_id, content=result.content)]
        )
        self.writer.save()
        return result

    def finish(self, answer: str | None, reason: str) -> None:
        self.writer.finish(
            final_answer=answer,
            metrics=FinalMetrics(
                total_steps=len(self.writer.trajectory.steps),
                extra={"stop_reason": reason, "tool_calls": self.calls},
            ),
        )


class RandomOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int | None = None
    steps: int = Field(8, ge=0, le=200)


class RandomAgent(Agent):
    """Valid but random read-only actions; reproducible for a given seed."""

    name = "random"
    version = "1"

    def __init__(self, config: AgentConfig) -> None:
        super().__init__(config)
        try:
            self.options = RandomOptions.model_validate(config.kwargs)
        except ValidationError as exc:
            raise ProviderConfigError(f"random agent options: {exc}") from exc

    def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        seed = self.options.seed if self.options.seed is not None else context.extra.get("seed")
        rng = random.Random(seed if isinstance(seed, int | str) else 0)
        rec = ToolRecorder(self, sandbox, context)
        rec.writer.add(source="user", message=instruction)
        try:
            for _ in range(self.options.steps):
                name, arguments = self._action(rng, sandbox)
                rec.act(name, arguments)
            answer = "Random baseline: no diagnosis was attempted."
            rec.act("submit_answer", {"answer": answer})
        except BaseException as exc:
            rec.finish(None, f"crashed: {type(exc).__name__}")
            raise
        rec.finish(answer, "submitted")

    @staticmethod
    def _action(rng: random.Random, sandbox: Sandbox) -> tuple[str, dict[str, Any]]:
        kind = rng.choice(("run_shell", "prometheus_query", "list_alerts", "http_get"))
        if kind == "run_shell":
            return kind, {"command": rng.choice(READ_ONLY_COMMANDS), "timeout_sec": 20}
        if kind == "prometheus_query":
            return kind, {"query": rng.choice(PROMQL)}
        if kind == "http_get":
            urls = [e.url + "/" for e in sandbox.endpoints.values()] or ["http://localhost/"]
            return kind, {"url": rng.choice(urls)}
        return kind, {}


RUNBOOK: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "Inspect recent logs.",
        "run_shell",
        {
            "command": "ls -la /var/log; "
            "for f in $(ls -t /var/log/*.log /var/log/*/*.log 2>/dev/null | head -n 5); "
            'do echo "== $f"; tail -n 40 "$f"; done; '
            "journalctl -n 50 --no-pager 2>/dev/null || true"
        },
    ),
    ("List processes by CPU.", "run_shell", {"command": "ps aux --sort=-%cpu | head -n 25"}),
    (
        "List listening ports.",
        "run_shell",
        {"command": "ss -ltnp 2>/dev/null || netstat -ltnp 2>/dev/null"},
    ),
    ("Check disk and memory.", "run_shell", {"command": "df -h; free -m"}),
    ("Check scrape targets.", "prometheus_query", {"query": "up"}),
    ("Check alerts.", "list_alerts", {}),
)


class ScriptedAgent(Agent):
    """A fixed generic runbook, then a summary of what it saw. Changes nothing."""

    name = "scripted"
    version = "1"

    def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        rec = ToolRecorder(self, sandbox, context)
        rec.writer.add(source="user", message=instruction)
        seen: dict[str, ToolResult] = {}
        try:
            for message, name, arguments in RUNBOOK:
                seen[message] = rec.act(name, arguments, message)
            answer = _summary(seen)
            rec.act("submit_answer", {"answer": answer}, "Summarise.")
        except BaseException as exc:
            rec.finish(None, f"crashed: {type(exc).__name__}")
            raise
        rec.finish(answer, "submitted")


def _summary(seen: dict[str, ToolResult]) -> str:
    lines = ["Scripted runbook (logs, processes, ports, disk/memory, metrics, alerts)."]
    failed = [step for step, result in seen.items() if result.error]
    if failed:
        lines.append("Steps that failed: " + "; ".join(failed))
    down = _series(
        seen.get("Check scrape targets."), lambda s: s.get("value", [None, ""])[1] == "0"
    )
    if down is not None:
        lines.append("Scrape targets down: " + (", ".join(down) or "none"))
    alerts = _alerts(seen.get("Check alerts."))
    if alerts is not None:
        lines.append("Alerts: " + (", ".join(alerts) or "none"))
    lines.append("No root cause was determined and nothing was changed.")
    return "\n".join(lines)


def _json(result: ToolResult | None) -> dict[str, Any] | None:
    if result is None or result.error:
        return None
    try:
        value = json.loads(result.content)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _series(result: ToolResult | None, keep: Any) -> list[str] | None:
    body = _json(result)
    if body is None:
        return None
    series = body.get("data", {}).get("result", [])
    return [
        str(s.get("metric", {}).get("job") or s.get("metric", {}).get("instance") or "?")
        for s in series
        if isinstance(s, dict) and keep(s)
    ]


def _alerts(result: ToolResult | None) -> list[str] | None:
    body = _json(result)
    if body is None:
        return None
    alerts = body.get("data", {}).get("alerts", [])
    return [
        f"{a.get('labels', {}).get('alertname', '?')} ({a.get('state', '?')})"
        for a in alerts
        if isinstance(a, dict)
    ]
