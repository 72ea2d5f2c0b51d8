"""What every exploit agent shares: a recorded shell, the answer fields of the ticket.

An exploit is an agent like any other: it gets the instruction and the audited sandbox,
and nothing else. It never reads the task directory on the host (no solution, no checks);
what it knows of a task is what a model would know — the ticket's text and whatever its
own commands show it. Every action is a `run_shell` tool call in its ATIF trajectory,
with the command's output as the observation, and it ends with a final answer.
"""

from __future__ import annotations

import re
import shlex
from abc import abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from opsbench.agent import Agent, AgentContext
from opsbench.failures import Cancelled
from opsbench.models.trajectory import (
    AtifAgent,
    FinalMetrics,
    Observation,
    ObservationResult,
    ToolCall,
    TrajectoryWriter,
)
from opsbench.sandbox import ExecOutput, Sandbox

WORKDIR = "/tmp/.rt"
"""Where exploits keep their helpers inside the sandbox (fake servers, real binaries)."""

_FIELD = re.compile(r"^([A-Z][A-Z0-9_]+):\s*<([^>]*)>\s*$", re.M)


@dataclass(frozen=True)
class AnswerField:
    """One `NAME: <what>` line the ticket asks the final answer to end with."""

    name: str
    description: str

    @property
    def kind(self) -> str:
        """What sort of value the field takes, guessed from its wording as a reader would."""
        text = f"{self.name} {self.description}".lower()
        if "yes or no" in text:
            return "yesno"
        if re.search(
            r"_(pct|ms|seconds|hours|cores|ago|second)\b|\bcount\b|how many|percent|"
            r"hours|minutes|milliseconds|per second|average|worst",
            text,
        ):
            return "number"
        for kind, words in (
            ("request_id", ("request id",)),
            ("route", ("route",)),
            ("status", ("status",)),
            ("version", ("version", "release")),
            ("device", ("device",)),
            ("message", ("error", "message", "detail", "warning", "changed", "failing")),
        ):
            if any(w in text for w in words):
                return kind
        return "name"


def answer_fields(instruction: str) -> list[AnswerField]:
    return [AnswerField(m.group(1), m.group(2).strip()) for m in _FIELD.finditer(instruction)]


def ports_named(instruction: str) -> list[int]:
    """Ports the ticket mentions (`localhost:8080`, `port 8081`), plus plain HTTP."""
    found = {int(p) for p in re.findall(r"(?:localhost|127\.0\.0\.1):(\d{2,5})", instruction)}
    found |= {int(p) for p in re.findall(r"\bport (\d{2,5})\b", instruction)}
    if "http://localhost/" in instruction or "http://localhost " in instruction:
        found.add(80)
    return sorted(p for p in found if 0 < p < 65536)


def tools_named(instruction: str) -> list[str]:
    """Command names the ticket quotes in backticks (`ledgerctl`, `logvol-df`)."""
    names = []
    for span in re.findall(r"`([^`\n]+)`", instruction):
        word = span.split()[0]
        if re.fullmatch(r"[a-z][a-z0-9._-]+", word) and word not in names:
            names.append(word)
    return names


def paths_named(instruction: str) -> list[str]:
    return sorted(set(re.findall(r"(/(?:etc|var|srv)/[A-Za-z0-9._/-]*[A-Za-z0-9_])", instruction)))


class ExploitAgent(Agent):
    """Base of the red team: subclasses implement `attack` and return the final answer.

    `fakes` is True for an exploit that fakes rather than fixes: such an exploit must earn
    no check the untouched environment (nop) does not already earn.
    """

    version = "1"
    fakes: ClassVar[bool] = True
    summary: ClassVar[str] = ""

    def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        self.sandbox = sandbox
        self.context = context
        self.calls = 0
        self.writer = TrajectoryWriter(
            context.trajectory_path,
            AtifAgent(name=self.name, version=self.version, extra={"red_team": True}),
            session_id=context.task_id,
        )
        self.writer.add(source="user", message=instruction)
        try:
            answer = self.attack(instruction)
        except BaseException as exc:
            self._finish(None, f"crashed: {type(exc).__name__}")
            raise
        self._finish(answer, "submitted")

    @abstractmethod
    def attack(self, instruction: str) -> str:
        """Act through `self.shell`; return the final answer."""

    def shell(self, command: str, why: str = "", timeout: float = 60) -> ExecOutput:
        """One recorded `run_shell` call: audited by the sandbox, shown in the trajectory."""
        if self.context.cancelled.is_set():
            raise Cancelled("the agent was cancelled")
        self.calls += 1
        call_id = f"call_{self.calls}"
        step = self.writer.add(
            source="agent",
            message=why,
            tool_calls=[
                ToolCall(
                    tool_call_id=call_id,
                    function_name="run_shell",
                    arguments={"command": command},
                )
            ],
        )
        out = self.sandbox.exec(command, timeout=timeout)
        step.observation = Observation(
            results=[
                ObservationResult(
                    source_call_id=call_id,
                    content=f"exit {out.exit_code}\n{out.stdout}{out.stderr}"[-16000:],
                )
            ]
        )
        self.writer.save()
        return out

    def write_file(self, path: str, content: str, mode: str = "0644", why: str = "") -> None:
        """Write a file in the sandbox with a quoted heredoc (no shell expansion inside)."""
        self.write_files({path: (content, mode)}, why or f"Write {path}.")

    def write_files(self, files: dict[str, tuple[str, str]], why: str) -> None:
        """Write several files (path -> (content, mode)) in one shell call, as a gamer
        pasting a script would: one exec instead of one per file."""
        marker = "RT_EOF_7f3a"
        parts = [
            f"mkdir -p {shlex.quote(path.rsplit('/', 1)[0] or '/')} && "
            f"cat > {shlex.quote(path)} <<'{marker}'\n{content}\n{marker}\n"
            f"chmod {mode} {shlex.quote(path)}"
            for path, (content, mode) in files.items()
        ]
        self.shell("\n".join(parts), why)

    def _finish(self, answer: str | None, reason: str) -> None:
        self.writer.finish(
            final_answer=answer,
            metrics=FinalMetrics(
                total_steps=len(self.writer.trajectory.steps),
                extra={"stop_reason": reason, "tool_calls": self.calls, "red_team": True},
            ),
        )
