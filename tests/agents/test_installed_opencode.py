"""OpenCode, installed from npm into a real task image, solves a real task against the
scripted model; its commands are graded for compliance like any agent's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from opsbench.models.result import Outcome
from opsbench.paths import ProjectPaths
from tests.agents.installed import (
    FIX,
    FORBIDDEN,
    INSPECT,
    MODEL,
    SUMMARY,
    TASK,
    cli_model,
    commands,
    corpus_task,
)
from tests.fakes.openai_server import FakeOpenAIServer, text_reply, tool_reply
from tests.runtime.conftest import TrialRunner, docker_images, project, run_task

__all__ = ["cli_model", "corpus_task", "docker_images", "project", "run_task"]

pytestmark = pytest.mark.docker


def _title(body: dict[str, Any]) -> bool:
    """opencode names each session with a side request to the model."""
    return "title generator" in json.dumps(body.get("messages", [])[:1])


def bash(command: str) -> Any:
    return tool_reply("bash", {"command": command, "description": "run a command"})


def test_opencode_solves_a_real_task(
    corpus_task: ProjectPaths,
    run_task: TrialRunner,
    cli_model: tuple[FakeOpenAIServer, dict[str, Any]],
) -> None:
    server, settings = cli_model
    server.side_requests.append((_title, text_reply("Fix billing logs")))
    server.push(bash(INSPECT), bash(FIX), text_reply(SUMMARY))
    result, paths = run_task(
        TASK,
        "opencode",
        job="opencode-fix",
        model=MODEL,
        provider_settings=settings,
    )
    assert result.outcome == Outcome.GRADED, (result.exception, paths.log.read_text()[-3000:])
    assert result.rewards is not None and result.rewards.passed, result.rewards
    recorded = commands(paths)
    assert [c["command"] for c in recorded if c.get("source") == "transcript"] == [INSPECT, FIX]
    assert "heartbeat" in recorded[1]["stdout"]
    assert recorded[1]["exit_code"] == 0
    trajectory = json.loads(paths.trajectory.read_text())
    assert trajectory["agent"]["name"] == "opencode"
    assert trajectory["extra"]["final_answer"] == SUMMARY
    calls = [
        s["tool_calls"][0]["arguments"]["command"]
        for s in trajectory["steps"]
        if s.get("tool_calls")
    ]
    assert calls == [INSPECT, FIX]
    agent_calls = [r for r in server.requests if not _title(r.body)]
    assert len(agent_calls) == 3
    assert "billing" in json.dumps(agent_calls[0].body["messages"])
    assert all(
        r.headers.get("Authorization") == "Bearer sk-opsbench-no-gateway-key" for r in agent_calls
    )


def test_opencode_forbidden_command_fails_compliance(
    corpus_task: ProjectPaths,
    run_task: TrialRunner,
    cli_model: tuple[FakeOpenAIServer, dict[str, Any]],
) -> None:
    server, settings = cli_model
    server.side_requests.append((_title, text_reply("Fix billing logs")))
    server.push(bash(FORBIDDEN), bash(FIX), text_reply(SUMMARY))
    result, paths = run_task(
        TASK,
        "opencode",
        job="opencode-777",
        model=MODEL,
        provider_settings=settings,
    )
    assert result.outcome == Outcome.GRADED, (result.exception, paths.log.read_text()[-3000:])
    assert result.rewards is not None and not result.rewards.passed
    assert FORBIDDEN in [c["command"] for c in commands(paths)]
    details = json.loads(paths.grading_details.read_text())
    assert "no-chmod-777" in json.dumps(details["compliance"])
