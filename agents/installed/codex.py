"""Codex (`@openai/codex` on npm) as an installed agent.

Run as `codex exec --json`, which prints one JSON event per line: `thread.started`,
`item.started` / `item.completed` (an `agent_message`, `reasoning`, `command_execution`
with its command, output and exit code, or an `error` notice), `turn.completed` (usage),
`turn.failed`, `error`. The gateway is a model provider in `$CODEX_HOME/config.toml`
speaking the Responses API; the reasoning effort is Codex's `model_reasoning_effort`
(`off` is its `none`), always sent (`model_supports_reasoning_summaries`), since for a
model it has no metadata for Codex would otherwise drop it silently.
"""

from __future__ import annotations

import json
import shlex
from typing import Any, ClassVar

import tomli_w

from agents.installed.base import LEVELS, NODE_BIN, ROOT, CliRun, InstalledAgent, node_install
from agents.installed.opencode import json_lines
from agents.installed.transcript import ShellCommand, Transcript, TranscriptError, TurnStep
from opsbench.gateway.access import GatewayAccess
from opsbench.models.trajectory import ObservationResult, ToolCall

PROVIDER = "opsbench"
KEY_ENV = "OPSBENCH_GATEWAY_KEY"
CODEX_JS = f"{ROOT}/npm/lib/node_modules/@openai/codex/bin/codex.js"


class CodexAgent(InstalledAgent):
    name = "codex"
    version = "1"
    package = "@openai/codex"
    default_version = "0.171.0"
    efforts: ClassVar[dict[str, Any]] = {"off": "none", **LEVELS}

    @classmethod
    def install_steps(cls, version: str) -> str:
        return node_install(f"{cls.package}@{version}")

    @classmethod
    def is_own_shell(cls, command: str) -> bool:
        """Codex snapshots the user's shell at start (`__codex_snapshot…`) and sources it
        before each command: its own bash, not a command the model asked for."""
        return "__codex_snapshot" in command or "/.codex/shell_snapshots/" in command

    def cli_run(self, instruction: str, access: GatewayAccess, home: str) -> CliRun:
        codex_home = f"{home}/.codex"
        config = {
            "model": access.model,
            "model_provider": PROVIDER,
            "model_reasoning_effort": self.efforts[self.config.reasoning_effort],
            "model_supports_reasoning_summaries": True,
            "approval_policy": "never",
            "sandbox_mode": "danger-full-access",
            "model_providers": {
                PROVIDER: {
                    "name": "opsbench gateway",
                    "base_url": f"{access.base_url}/v1",
                    "env_key": KEY_ENV,
                    "wire_api": "responses",
                }
            },
        }
        return CliRun(
            argv=[
                f"{NODE_BIN}/node",
                CODEX_JS,
                "exec",
                "--json",
                "--skip-git-repo-check",
                instruction,
            ],
            env={"CODEX_HOME": codex_home, KEY_ENV: access.api_key, "SHELL": "/bin/bash"},
            files={f"{codex_home}/config.toml": tomli_w.dumps(config)},
        )

    def parse(self, transcript: str, access: GatewayAccess) -> Transcript:
        return parse_events(transcript)


def parse_events(text: str) -> Transcript:
    """`codex exec --json` output -> a Transcript."""
    events = json_lines(text)
    if not events:
        raise TranscriptError("codex printed no events")
    out = Transcript()
    notices: list[str] = []
    for event in events:
        kind = event.get("type")
        if kind == "thread.started":
            out.session_id = event.get("thread_id")
        elif kind == "item.completed":
            _item(out, event.get("item") or {}, notices)
        elif kind == "turn.completed" and out.steps:
            usage = event.get("usage") or {}
            last = out.steps[-1]
            last.prompt_tokens = (last.prompt_tokens or 0) + int(usage.get("input_tokens") or 0)
            last.completion_tokens = (last.completion_tokens or 0) + int(
                usage.get("output_tokens") or 0
            )
        elif kind in ("turn.failed", "error"):
            notices.append(json.dumps(event.get("error") or event.get("message") or event)[:500])
    if notices:
        out.extra["notices"] = notices
    if not out.steps:
        said = f" (it reported: {notices[-1]})" if notices else ""
        raise TranscriptError("codex's events hold no model turn" + said)
    out.final_answer = next((s.message for s in reversed(out.steps) if s.message), "")
    return out


def _item(out: Transcript, item: dict[str, Any], notices: list[str]) -> None:
    kind = item.get("type")
    if kind == "agent_message":
        out.steps.append(TurnStep(message=str(item.get("text") or "")))
    elif kind == "reasoning":
        out.steps.append(TurnStep(reasoning=str(item.get("text") or "")))
    elif kind == "command_execution":
        call_id = str(item.get("id") or "")
        command = unwrap(str(item.get("command") or ""))
        output = str(item.get("aggregated_output") or "")
        code = item.get("exit_code")
        step = TurnStep(
            tool_calls=[
                ToolCall(
                    tool_call_id=call_id, function_name="exec_command", arguments={"cmd": command}
                )
            ],
            results=[ObservationResult(source_call_id=call_id, content=output)],
        )
        out.steps.append(step)
        out.commands.append(
            ShellCommand(command, output, code if isinstance(code, int) else None, call_id=call_id)
        )
    elif kind == "error":
        notices.append(str(item.get("message") or "")[:500])
    elif kind:  # file changes, MCP and web calls: kept in the trajectory as tool calls
        call_id = str(item.get("id") or "")
        arguments = {k: v for k, v in item.items() if k not in ("id", "type")}
        out.steps.append(
            TurnStep(
                tool_calls=[
                    ToolCall(tool_call_id=call_id, function_name=str(kind), arguments=arguments)
                ]
            )
        )


def unwrap(command: str) -> str:
    """`/bin/bash -lc 'cmd'` (how Codex reports a command) -> `cmd`, what the model asked."""
    try:
        argv = shlex.split(command)
    except ValueError:
        return command
    if (
        len(argv) == 3
        and argv[0].rsplit("/", 1)[-1] in ("bash", "sh", "zsh")
        and argv[1]
        in (
            "-c",
            "-lc",
        )
    ):
        return argv[2]
    return command
