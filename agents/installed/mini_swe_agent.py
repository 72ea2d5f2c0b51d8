"""mini-swe-agent (`mini-swe-agent` on PyPI) as an installed agent.

Installed with pip into its own directory (`--target`, so its pinned dependencies never
touch the task's Python), run as `mini --yolo --exit-immediately`, which saves its
trajectory file (`-o`): every message, each assistant turn's bash actions and each
observation's return code. The gateway is LiteLLM's OpenAI provider (`api_base`,
`api_key` in `model.model_kwargs`); the reasoning effort is `model_kwargs.reasoning_effort`.

mini-swe-agent runs each action with `subprocess(shell=True)`, i.e. `/bin/sh` (dash),
which the BASH_ENV recorder cannot see: its commands come from the trajectory alone,
written by its environment as it executed them, with their return codes.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from agents.installed.base import LEVELS, ROOT, RUN_DIR, CliRun, InstalledAgent
from agents.installed.transcript import ShellCommand, Transcript, TranscriptError, TurnStep
from opsbench.gateway.access import GatewayAccess
from opsbench.models.trajectory import ObservationResult, ToolCall

TARGET = f"{ROOT}/mini-swe-agent"
TRAJECTORY = f"{RUN_DIR}/mini.traj.json"
LAUNCH = (
    f"import sys; sys.path.insert(0, {TARGET!r}); "
    "from minisweagent.run.mini import app; app(prog_name='mini')"
)
"""`mini` with its packages on the path of this process only: a PYTHONPATH would reach
the commands it runs, and a task's Python must not import mini-swe-agent's packages."""


class MiniSweAgent(InstalledAgent):
    name = "mini-swe-agent"
    version = "1"
    package = "mini-swe-agent"
    default_version = "2.4.6"
    efforts: ClassVar[dict[str, Any]] = {"off": None, **LEVELS}

    @classmethod
    def install_steps(cls, version: str) -> str:
        return (
            f"RUN pip install --no-cache-dir --break-system-packages --target {TARGET} "
            f"{cls.package}=={version} && chmod -R a+rX {TARGET}\n"
        )

    def cli_run(self, instruction: str, access: GatewayAccess, home: str) -> CliRun:
        model_kwargs: dict[str, Any] = {
            "api_base": f"{access.base_url}/v1",
            "api_key": access.api_key,
            "drop_params": False,
        }
        effort = self.efforts[self.config.reasoning_effort]
        if effort is not None:
            model_kwargs["reasoning_effort"] = effort
        config = {
            "model": {"model_kwargs": model_kwargs, "cost_tracking": "ignore_errors"},
            "agent": {"cost_limit": 0},
            "environment": {"timeout": 120},
        }
        path = f"{RUN_DIR}/opsbench.yaml"  # JSON is YAML
        return CliRun(
            argv=[
                "python3",
                "-c",
                LAUNCH,
                "--yolo",
                "--exit-immediately",
                "--model",
                f"openai/{access.model}",
                "--task",
                instruction,
                "--output",
                TRAJECTORY,
                "-c",
                "mini.yaml",
                "-c",
                path,
            ],
            env={
                "MSWEA_CONFIGURED": "true",
                "MSWEA_COST_TRACKING": "ignore_errors",
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "PYTHONUNBUFFERED": "1",
            },
            files={path: json.dumps(config, indent=2)},
            transcript=TRAJECTORY,
            stdout_to_transcript=False,
        )

    def parse(self, transcript: str, access: GatewayAccess) -> Transcript:
        return parse_trajectory(transcript)


def parse_trajectory(text: str) -> Transcript:
    """mini-swe-agent's trajectory file -> a Transcript."""
    if not text.strip():
        raise TranscriptError("mini-swe-agent wrote no trajectory")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise TranscriptError(f"the trajectory is not JSON: {exc}") from exc
    messages = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(messages, list):
        raise TranscriptError("the trajectory has no `messages` list")
    out = Transcript()
    by_call: dict[str, ShellCommand] = {}
    step: TurnStep | None = None
    for message in messages:
        if not isinstance(message, dict):
            raise TranscriptError("a trajectory message is not an object")
        role = message.get("role")
        extra = message.get("extra") or {}
        if role == "assistant":
            step = _turn(message, extra, out, by_call)
            out.steps.append(step)
        elif role == "tool" and step is not None:
            call_id = str(message.get("tool_call_id") or "")
            content = str(message.get("content") or "")
            step.results.append(ObservationResult(source_call_id=call_id, content=content))
            if call_id in by_call:
                by_call[call_id].output = str(extra.get("raw_output") or "")
                code = extra.get("returncode")
                by_call[call_id].exit_code = code if isinstance(code, int) else None
        elif role == "exit":
            out.extra["exit_status"] = extra.get("exit_status")
            out.final_answer = str(extra.get("submission") or "").strip()
    if not out.steps:
        raise TranscriptError("the trajectory holds no model turn")
    info = data.get("info") or {}
    out.extra["mini_version"] = info.get("mini_version")
    if not out.final_answer:
        out.final_answer = next((s.message for s in reversed(out.steps) if s.message), "")
    return out


def _turn(
    message: dict[str, Any],
    extra: dict[str, Any],
    out: Transcript,
    by_call: dict[str, ShellCommand],
) -> TurnStep:
    usage = (extra.get("response") or {}).get("usage") or {}
    step = TurnStep(
        message=str(message.get("content") or ""),
        reasoning=message.get("reasoning_content") or None,
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        cost_usd=extra.get("cost"),
        time=_iso(extra.get("timestamp")),
    )
    for action in extra.get("actions") or []:
        command = str(action.get("command") or "")
        call_id = str(action.get("tool_call_id") or f"action-{len(out.commands) + 1}")
        step.tool_calls.append(
            ToolCall(tool_call_id=call_id, function_name="bash", arguments={"command": command})
        )
        shell = ShellCommand(command=command, time=step.time, call_id=call_id)
        out.commands.append(shell)
        by_call[call_id] = shell
    return step


def _iso(seconds: Any) -> str:
    from datetime import UTC, datetime

    if not isinstance(seconds, int | float):
        return ""
    stamp = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")
