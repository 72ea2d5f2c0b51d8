"""A CLI's transcript, parsed: steps for the ATIF trajectory, commands for the audit.

Each CLI's parser (`InstalledAgent.parse`) fills a `Transcript`; `write_evidence` turns it
into `agent/trajectory.json` and the CLI's entries of `agent/commands.jsonl`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agents.installed import recorder
from opsbench.models.result import UsageCounters
from opsbench.models.trajectory import (
    AtifAgent,
    FinalMetrics,
    Observation,
    ObservationResult,
    StepMetrics,
    ToolCall,
    TrajectoryWriter,
    now_iso,
)
from opsbench.sandbox import AuditedSandbox, Sandbox
from opsbench.shell import ShellRecord

if TYPE_CHECKING:
    from agents.installed.base import InstalledAgent
    from opsbench.agent import AgentContext


class TranscriptError(ValueError):
    """The CLI's transcript cannot be read: the trial is an agent error, never a pass."""


@dataclass
class ShellCommand:
    """One shell command the CLI reports it ran."""

    command: str
    output: str = ""
    exit_code: int | None = None
    time: str = ""
    call_id: str = ""


@dataclass
class TurnStep:
    """One model turn: its text, reasoning, tool calls and their results."""

    message: str = ""
    reasoning: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    results: list[ObservationResult] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    time: str = ""


@dataclass
class Transcript:
    session_id: str | None = None
    steps: list[TurnStep] = field(default_factory=list)
    commands: list[ShellCommand] = field(default_factory=list)
    final_answer: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def prompt_tokens(self) -> int:
        return sum(s.prompt_tokens or 0 for s in self.steps)

    @property
    def completion_tokens(self) -> int:
        return sum(s.completion_tokens or 0 for s in self.steps)

    def usage_into(self, usage: UsageCounters) -> None:
        """The CLI's own token counts, for a run without the gateway (which counts)."""
        usage.calls += len(self.steps)
        usage.input_tokens += self.prompt_tokens
        usage.output_tokens += self.completion_tokens
        usage.cost_usd += sum(s.cost_usd or 0.0 for s in self.steps)


def write_evidence(
    agent: InstalledAgent,
    context: AgentContext,
    instruction: str,
    transcript: Transcript,
    shell: list[ShellRecord],
    sandbox: Sandbox,
    user: str,
) -> None:
    """The trajectory, then the audit record: transcript commands and unaccounted shell
    records (`agents.installed.recorder`)."""
    cfg = agent.config
    writer = TrajectoryWriter(
        context.trajectory_path,
        AtifAgent(
            name=agent.name,
            version=type(agent).version_of(cfg.kwargs),
            model_name=cfg.model,
            extra={"installed_cli": type(agent).package},
        ),
        session_id=transcript.session_id,
    )
    writer.add(source="user", message=instruction)
    for step in transcript.steps:
        writer.add(
            timestamp=step.time or now_iso(),
            source="agent",
            model_name=cfg.model,
            reasoning_effort=cfg.reasoning_effort,
            message=step.message,
            reasoning_content=step.reasoning,
            tool_calls=step.tool_calls or None,
            observation=Observation(results=step.results) if step.results else None,
            metrics=StepMetrics(
                prompt_tokens=step.prompt_tokens,
                completion_tokens=step.completion_tokens,
                cost_usd=step.cost_usd,
            ),
        )
    writer.finish(
        final_answer=transcript.final_answer,
        metrics=FinalMetrics(
            total_prompt_tokens=transcript.prompt_tokens,
            total_completion_tokens=transcript.completion_tokens,
            total_steps=len(writer.trajectory.steps),
            extra=transcript.extra or None,
        ),
    )
    if not isinstance(sandbox, AuditedSandbox):
        return
    for command in transcript.commands:
        sandbox.note(
            command.time or now_iso(),
            command.command,
            user,
            None,
            _exit_code(command, shell),
            "transcript",
            stdout=command.output,
        )
    ran = [r for r in shell if not type(agent).is_own_shell(r.command)]
    for record in recorder.unaccounted(ran, [c.command for c in transcript.commands]):
        sandbox.note(record.time, record.command, user, record.cwd, record.exit_code, "shell")


def _exit_code(command: ShellCommand, shell: list[ShellRecord]) -> int | None:
    """The CLI's own exit code, else the one the recording shell saw for that text."""
    if command.exit_code is not None:
        return command.exit_code
    for record in shell:
        if command.command.strip() and command.command.strip() in record.command:
            return record.exit_code
    return None
