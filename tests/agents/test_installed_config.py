"""Installed agents without Docker: names, versions, refused efforts, transcripts that
parse and ones that do not."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from agents.installed.mini_swe_agent import parse_trajectory
from agents.installed.opencode import parse_events
from agents.installed.transcript import TranscriptError
from opsbench.agent import UnknownAgent, resolve_agent
from opsbench.errors import OpsbenchError
from opsbench.jobconfig import build_job_config
from opsbench.models.job import JobRequest
from tests.compiler.conftest import CliResult, copy_project, run_cli

__all__ = ["run_cli"]

INSTALLED = ("opencode", "mini-swe-agent", "codex", "claude-code")


def test_an_unknown_installed_agent_lists_the_known_ones() -> None:
    with pytest.raises(UnknownAgent) as err:
        resolve_agent("opencod")
    message = str(err.value)
    assert "did you mean 'opencode'?" in message
    for name in INSTALLED:
        assert name in message


@pytest.mark.parametrize("agent", INSTALLED)
def test_each_cli_is_pinned_and_the_version_is_a_kwarg(agent: str) -> None:
    cls = resolve_agent(agent)
    pinned = cls.install_layer({})
    chosen = cls.install_layer({"version": "9.9.9"})
    assert pinned is not None and chosen is not None
    assert pinned.version == cls.default_version  # type: ignore[attr-defined]
    assert chosen.version == "9.9.9" and "9.9.9" in chosen.dockerfile
    assert pinned.dockerfile.startswith("ARG BASE\nFROM ${BASE}")


@pytest.mark.parametrize("agent", INSTALLED)
def test_an_unknown_kwarg_is_refused(agent: str) -> None:
    request = JobRequest(
        agent=agent, model="openai/m", reasoning_effort="low", agent_kwargs={"verison": "1"}
    )
    with pytest.raises(OpsbenchError, match="unknown --agent-kwarg verison"):
        build_job_config(request)


def test_an_effort_the_cli_has_no_setting_for_is_refused_in_a_dry_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Callable[..., CliResult]
) -> None:
    """The mechanism every CLI uses (a CLI with no setting for an effort): here opencode
    is given a table without `high`."""
    from agents.installed.opencode import OpenCodeAgent

    monkeypatch.setattr(OpenCodeAgent, "efforts", {"off": None, "low": "low"})
    monkeypatch.chdir(copy_project(tmp_path / "proj"))
    args = ["job", "--dry-run", "--agent", "opencode", "--model", "openai/m"]
    result = run_cli(*args, "--reasoning-effort", "high", "--api-base", "http://127.0.0.1:9/v1")
    assert result.code != 0
    assert "reasoning effort 'high' has no opencode setting (supported: off, low)" in result.err
    assert "Traceback" not in result.err


def test_opencode_events_become_steps_and_commands() -> None:
    lines = [
        {"type": "step_start", "timestamp": 1796301449778, "sessionID": "ses_1", "part": {}},
        {
            "type": "tool_use",
            "timestamp": 1796301455560,
            "sessionID": "ses_1",
            "part": {
                "tool": "bash",
                "callID": "call_2",
                "state": {
                    "status": "completed",
                    "input": {"command": "id", "description": "who"},
                    "output": "uid=0(root)\n",
                    "metadata": {"exit": 0},
                },
            },
        },
        {"type": "step_finish", "part": {"tokens": {"input": 10, "output": 5}, "cost": 0}},
        {"type": "step_start", "part": {}},
        {"type": "text", "part": {"text": "All done."}},
        {"type": "step_finish", "part": {"tokens": {"input": 12, "output": 3}, "cost": 0}},
    ]
    parsed = parse_events("\n".join(json.dumps(line) for line in lines))
    assert parsed.session_id == "ses_1"
    assert [(c.command, c.exit_code, c.output) for c in parsed.commands] == [
        ("id", 0, "uid=0(root)\n")
    ]
    assert parsed.final_answer == "All done."
    assert (parsed.prompt_tokens, parsed.completion_tokens) == (22, 8)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no events"),
        ('{"type": "step_start"}\nnot json at all', "line 2 is not JSON"),
        ('{"type": "error", "error": {"name": "APIError"}}', "no model turn"),
    ],
)
def test_an_opencode_transcript_that_does_not_parse_says_why(text: str, reason: str) -> None:
    with pytest.raises(TranscriptError, match=reason):
        parse_events(text)


def test_a_mini_swe_agent_trajectory_becomes_steps_and_commands() -> None:
    trajectory = {
        "info": {"mini_version": "2.4.6"},
        "messages": [
            {"role": "system", "content": "..."},
            {"role": "user", "content": "fix it"},
            {
                "role": "assistant",
                "content": "Looking.",
                "extra": {
                    "actions": [{"command": "ls /", "tool_call_id": "c1"}],
                    "response": {"usage": {"prompt_tokens": 7, "completion_tokens": 2}},
                    "timestamp": 1796301455.5,
                },
            },
            {
                "role": "tool",
                "tool_call_id": "c1",
                "content": "<returncode>0</returncode>",
                "extra": {"raw_output": "bin\n", "returncode": 0},
            },
            {
                "role": "exit",
                "content": "",
                "extra": {"exit_status": "Submitted", "submission": "Fixed.\n"},
            },
        ],
    }
    parsed = parse_trajectory(json.dumps(trajectory))
    assert [(c.command, c.exit_code, c.output) for c in parsed.commands] == [("ls /", 0, "bin\n")]
    assert parsed.final_answer == "Fixed."
    assert parsed.extra["exit_status"] == "Submitted"


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "no trajectory"), ("{", "not JSON"), ('{"messages": []}', "no model turn")],
)
def test_a_mini_swe_agent_trajectory_that_does_not_parse_says_why(text: str, reason: str) -> None:
    with pytest.raises(TranscriptError, match=reason):
        parse_trajectory(text)


def test_codex_events_become_steps_and_commands() -> None:
    from agents.installed.codex import parse_events as parse_codex

    lines = [
        {"type": "thread.started", "thread_id": "t-1"},
        {"type": "item.completed", "item": {"id": "i0", "type": "error", "message": "no metadata"}},
        {"type": "turn.started"},
        {
            "type": "item.completed",
            "item": {
                "id": "i1",
                "type": "command_execution",
                "command": "/bin/bash -lc 'echo hi; false'",
                "aggregated_output": "hi\n",
                "exit_code": 1,
                "status": "failed",
            },
        },
        {"type": "item.completed", "item": {"id": "i2", "type": "agent_message", "text": "Done."}},
        {"type": "turn.completed", "usage": {"input_tokens": 20, "output_tokens": 10}},
    ]
    parsed = parse_codex("\n".join(json.dumps(line) for line in lines))
    assert parsed.session_id == "t-1"
    assert [(c.command, c.exit_code, c.output) for c in parsed.commands] == [
        ("echo hi; false", 1, "hi\n")
    ]
    assert parsed.final_answer == "Done."
    assert parsed.extra["notices"] == ["no metadata"]
    assert (parsed.prompt_tokens, parsed.completion_tokens) == (20, 10)


def test_a_codex_run_that_failed_before_any_turn_says_why() -> None:
    from agents.installed.codex import parse_events as parse_codex

    text = '{"type": "thread.started", "thread_id": "t"}\n{"type": "turn.failed", "error": {"message": "401"}}'
    with pytest.raises(TranscriptError, match=r"no model turn.*401"):
        parse_codex(text)


def test_claude_code_messages_become_steps_and_commands() -> None:
    from agents.installed.claude_code import parse_stream

    lines = [
        {"type": "system", "subtype": "init", "session_id": "s-1"},
        {
            "type": "assistant",
            "message": {
                "content": [
                    {"type": "tool_use", "id": "c1", "name": "Bash", "input": {"command": "false"}}
                ],
                "usage": {"input_tokens": 10, "output_tokens": 5},
            },
        },
        {
            "type": "user",
            "message": {
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "c1",
                        "content": "Exit code 1\n",
                        "is_error": True,
                    }
                ]
            },
        },
        {"type": "assistant", "message": {"content": [{"type": "text", "text": "Done."}]}},
        {"type": "result", "subtype": "success", "is_error": False, "result": "Done."},
    ]
    parsed = parse_stream("\n".join(json.dumps(line) for line in lines))
    assert parsed.session_id == "s-1"
    assert [(c.command, c.exit_code) for c in parsed.commands] == [("false", 1)]
    assert parsed.final_answer == "Done."


def test_claude_code_effort_is_its_effort_flag_and_off_is_refused() -> None:
    from agents.installed.claude_code import ClaudeCodeAgent
    from opsbench.agent import AgentConfig
    from opsbench.gateway.access import GatewayAccess

    access = GatewayAccess("http://gw:4000", "sk-trial", "m")
    run = ClaudeCodeAgent(AgentConfig("anthropic/m", "high")).cli_run("x", access, "/h")
    assert run.argv[run.argv.index("--effort") + 1] == "high"
    assert run.env["ANTHROPIC_BASE_URL"] == "http://gw:4000"
    assert run.env["ANTHROPIC_AUTH_TOKEN"] == "sk-trial"
    with pytest.raises(OpsbenchError, match="reasoning effort 'off' has no claude-code setting"):
        build_job_config(JobRequest(agent="claude-code", model="openai/m"))
