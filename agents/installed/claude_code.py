"""Claude Code (`@anthropic-ai/claude-code` on npm) as an installed agent.

Run as `claude -p --output-format stream-json --verbose`, which prints one JSON message
per line: `system` (init), `assistant` (content blocks: `text`, `thinking`, `tool_use`),
`user` (`tool_result` blocks), and a closing `result` (the final text, usage, cost). The
gateway serves Anthropic Messages at its base URL (`ANTHROPIC_BASE_URL`, the trial key as
`ANTHROPIC_AUTH_TOKEN`). The reasoning effort is Claude Code's `--effort` (sent as
`output_config.effort`). `off` is refused: without `--effort` Claude Code thinks
adaptively (`thinking: adaptive`), and `MAX_THINKING_TOKENS=0` did not change that for a
model it does not know, so no setting of its own means "no reasoning".
"""

from __future__ import annotations

from typing import Any, ClassVar

from agents.installed.base import LEVELS, ROOT, CliRun, InstalledAgent, node_install
from agents.installed.opencode import json_lines
from agents.installed.transcript import ShellCommand, Transcript, TranscriptError, TurnStep
from opsbench.gateway.access import GatewayAccess
from opsbench.models.trajectory import ObservationResult, ToolCall

CLAUDE = f"{ROOT}/npm/bin/claude"


class ClaudeCodeAgent(InstalledAgent):
    name = "claude-code"
    version = "1"
    package = "@anthropic-ai/claude-code"
    default_version = "2.1.332"
    efforts: ClassVar[dict[str, Any]] = dict(LEVELS)  # no `off`: see the module docstring

    @classmethod
    def install_steps(cls, version: str) -> str:
        return node_install(f"{cls.package}@{version}")

    @classmethod
    def is_own_shell(cls, command: str) -> bool:
        """Claude Code snapshots the user's shell at start: its own bash."""
        return "SNAPSHOT_FILE" in command

    def cli_run(self, instruction: str, access: GatewayAccess, home: str) -> CliRun:
        return CliRun(
            argv=[
                CLAUDE,
                "-p",
                "--output-format",
                "stream-json",
                "--verbose",
                "--dangerously-skip-permissions",
                "--model",
                access.model,
                "--effort",
                str(self.efforts[self.config.reasoning_effort]),
                instruction,
            ],
            env={
                "ANTHROPIC_BASE_URL": access.base_url,
                "ANTHROPIC_AUTH_TOKEN": access.api_key,
                "ANTHROPIC_MODEL": access.model,
                "ANTHROPIC_SMALL_FAST_MODEL": access.model,
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
                "DISABLE_AUTOUPDATER": "1",
                "IS_SANDBOX": "1",  # the container is the sandbox: root may skip prompts
                "SHELL": "/bin/bash",
            },
        )

    def parse(self, transcript: str, access: GatewayAccess) -> Transcript:
        return parse_stream(transcript)


def parse_stream(text: str) -> Transcript:
    """`claude -p --output-format stream-json --verbose` output -> a Transcript."""
    events = json_lines(text)
    if not events:
        raise TranscriptError("claude printed no messages")
    out = Transcript()
    pending: dict[str, tuple[TurnStep, ShellCommand | None]] = {}
    for event in events:
        kind = event.get("type")
        out.session_id = out.session_id or event.get("session_id")
        message = event.get("message") or {}
        if kind == "assistant":
            out.steps.append(_assistant(message, out, pending, str(event.get("timestamp") or "")))
        elif kind == "user":
            _results(message, pending)
        elif kind == "result":
            out.final_answer = str(event.get("result") or "")
            out.extra["result"] = {
                k: event.get(k) for k in ("subtype", "is_error", "num_turns", "total_cost_usd")
            }
            if event.get("is_error") and not out.steps:
                raise TranscriptError(f"claude reported an error: {out.final_answer[:500]}")
    if not out.steps:
        raise TranscriptError("claude's messages hold no model turn")
    if not out.final_answer:
        out.final_answer = next((s.message for s in reversed(out.steps) if s.message), "")
    return out


def _assistant(
    message: dict[str, Any],
    out: Transcript,
    pending: dict[str, tuple[TurnStep, ShellCommand | None]],
    stamp: str,
) -> TurnStep:
    usage = message.get("usage") or {}
    step = TurnStep(
        prompt_tokens=usage.get("input_tokens"),
        completion_tokens=usage.get("output_tokens"),
        time=stamp,
    )
    for block in message.get("content") or []:
        if block.get("type") == "text":
            step.message += str(block.get("text") or "")
        elif block.get("type") == "thinking":
            step.reasoning = (step.reasoning or "") + str(block.get("thinking") or "")
        elif block.get("type") == "tool_use":
            call_id = str(block.get("id") or "")
            raw = block.get("input")
            arguments: dict[str, Any] = raw if isinstance(raw, dict) else {}
            name = str(block.get("name") or "")
            step.tool_calls.append(
                ToolCall(tool_call_id=call_id, function_name=name, arguments=arguments)
            )
            shell = None
            if name == "Bash" and isinstance(arguments.get("command"), str):
                shell = ShellCommand(arguments["command"], time=stamp, call_id=call_id)
                out.commands.append(shell)
            pending[call_id] = (step, shell)
    return step


def _results(
    message: dict[str, Any], pending: dict[str, tuple[TurnStep, ShellCommand | None]]
) -> None:
    content = message.get("content")
    for block in content if isinstance(content, list) else []:
        if block.get("type") != "tool_result":
            continue
        call_id = str(block.get("tool_use_id") or "")
        output = _text(block.get("content"))
        if call_id not in pending:
            continue
        step, shell = pending.pop(call_id)
        step.results.append(ObservationResult(source_call_id=call_id, content=output))
        if shell is not None:
            shell.output = output
            # Claude Code reports a failure as "Exit code N\n<output>", success bare.
            first = output.split("\n", 1)[0]
            if block.get("is_error") and first.startswith("Exit code "):
                code = first.removeprefix("Exit code ").strip()
                shell.exit_code = int(code) if code.lstrip("-").isdigit() else None
            elif not block.get("is_error"):
                shell.exit_code = 0


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text") or "") for part in content if isinstance(part, dict))
    return ""
