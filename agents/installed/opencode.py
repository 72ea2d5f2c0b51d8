"""OpenCode (`opencode-ai` on npm) as an installed agent.

Run as `opencode run --format json`, which prints one JSON event per line: `step_start`,
`text`, `reasoning`, `tool_use` (a tool call with its input, output and exit code),
`step_finish` (tokens, cost), `error`. The gateway is an OpenAI-compatible provider in
opencode's config; the reasoning effort is that model's `reasoningEffort` option (sent as
`reasoning_effort`). Model-list fetches and self-updates are turned off: the container
may reach nothing but the gateway.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from agents.installed.base import LEVELS, RUN_DIR, CliRun, InstalledAgent, node_install
from agents.installed.transcript import ShellCommand, Transcript, TranscriptError, TurnStep
from opsbench.gateway.access import GatewayAccess
from opsbench.models.trajectory import ObservationResult, ToolCall

PROVIDER = "opsbench"


class OpenCodeAgent(InstalledAgent):
    name = "opencode"
    version = "1"
    package = "opencode-ai"
    default_version = "1.18.33"
    efforts: ClassVar[dict[str, Any]] = {"off": None, **LEVELS}

    @classmethod
    def install_steps(cls, version: str) -> str:
        return node_install(f"{cls.package}@{version}")

    def cli_run(self, instruction: str, access: GatewayAccess, home: str) -> CliRun:
        model: dict[str, Any] = {"name": access.model}
        effort = self.efforts[self.config.reasoning_effort]
        if effort is not None:
            model["options"] = {"reasoningEffort": effort}
        config = {
            "$schema": "https://opencode.ai/config.json",
            "provider": {
                PROVIDER: {
                    "npm": "@ai-sdk/openai-compatible",
                    "name": "opsbench gateway",
                    "options": {"baseURL": f"{access.base_url}/v1", "apiKey": access.api_key},
                    "models": {access.model: model},
                }
            },
            "model": f"{PROVIDER}/{access.model}",
            "small_model": f"{PROVIDER}/{access.model}",
            "autoupdate": False,
            "share": "disabled",
            # Non-interactive: nothing may wait for an approval (paths outside the working
            # directory included); the web is out of reach anyway.
            "permission": {"*": "allow", "webfetch": "deny", "websearch": "deny"},
        }
        path = f"{RUN_DIR}/opencode.json"
        return CliRun(
            argv=[
                "/opt/opsbench-agent/npm/bin/opencode",
                "run",
                "--format",
                "json",
                "--model",
                f"{PROVIDER}/{access.model}",
                instruction,
            ],
            env={
                "OPENCODE_CONFIG": path,
                "OPENCODE_DISABLE_MODELS_FETCH": "1",
                "OPENCODE_DISABLE_AUTOUPDATE": "1",
                "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
                "SHELL": "/bin/bash",
            },
            files={path: json.dumps(config, indent=2)},
        )

    def parse(self, transcript: str, access: GatewayAccess) -> Transcript:
        return parse_events(transcript)


def parse_events(text: str) -> Transcript:
    """`opencode run --format json` output -> a Transcript."""
    events = json_lines(text)
    if not events:
        raise TranscriptError("opencode printed no events")
    out = Transcript()
    step = TurnStep()
    errors: list[str] = []
    for event in events:
        kind = event.get("type")
        part = event.get("part") or {}
        out.session_id = out.session_id or event.get("sessionID")
        stamp = _iso(event.get("timestamp"))
        if kind == "step_start":
            step = TurnStep(time=stamp)
        elif kind == "text":
            step.message += str(part.get("text") or "")
        elif kind == "reasoning":
            step.reasoning = (step.reasoning or "") + str(part.get("text") or "")
        elif kind == "tool_use":
            _tool(step, out, part, stamp)
        elif kind == "step_finish":
            tokens = part.get("tokens") or {}
            step.prompt_tokens = tokens.get("input")
            step.completion_tokens = tokens.get("output")
            step.cost_usd = part.get("cost")
            out.steps.append(step)
            step = TurnStep()
        elif kind == "error":
            errors.append(json.dumps(event.get("error") or event)[:500])
    if step.message or step.tool_calls:  # a turn the run ended inside
        out.steps.append(step)
    if errors:
        out.extra["errors"] = errors
    if not out.steps:
        raise TranscriptError("opencode's events hold no model turn" + _said(errors))
    out.final_answer = next((s.message for s in reversed(out.steps) if s.message), "")
    return out


def _tool(step: TurnStep, out: Transcript, part: dict[str, Any], stamp: str) -> None:
    state = part.get("state") or {}
    call_id = str(part.get("callID") or part.get("id") or "")
    raw = state.get("input")
    arguments: dict[str, Any] = raw if isinstance(raw, dict) else {}
    name = str(part.get("tool") or "")
    output = str(state.get("output") or state.get("error") or "")
    step.tool_calls.append(ToolCall(tool_call_id=call_id, function_name=name, arguments=arguments))
    step.results.append(ObservationResult(source_call_id=call_id, content=output))
    if name == "bash" and isinstance(arguments.get("command"), str):
        exit_code = (state.get("metadata") or {}).get("exit")
        out.commands.append(
            ShellCommand(
                command=arguments["command"],
                output=output,
                exit_code=exit_code if isinstance(exit_code, int) else None,
                time=stamp,
                call_id=call_id,
            )
        )


def json_lines(text: str) -> list[dict[str, Any]]:
    """One JSON object per line (blank lines skipped); anything else is a TranscriptError."""
    events = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError as exc:
            raise TranscriptError(f"line {number} is not JSON: {line[:200]!r}") from exc
        if not isinstance(event, dict):
            raise TranscriptError(f"line {number} is not a JSON object")
        events.append(event)
    return events


def _iso(millis: Any) -> str:
    from datetime import UTC, datetime

    if not isinstance(millis, int | float):
        return ""
    stamp = datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def _said(errors: list[str]) -> str:
    return f" (it reported: {errors[-1]})" if errors else ""
