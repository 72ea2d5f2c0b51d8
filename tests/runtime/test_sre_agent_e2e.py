"""The default LLM agent end to end: a scripted model behind a local OpenAI-compatible server,
spoken to through LiteLLM, fixes a real task in Docker; provider failures within the retry
budget are invisible in the score, beyond it the trial is a provider_error that resume reruns.
"""

from __future__ import annotations

import json

import pytest

from opsbench.models.result import Outcome
from opsbench.paths import ProjectPaths
from tests.fakes.openai_server import Reply, error_reply, tool_reply
from tests.runtime.conftest import ScriptedModel, TrialRunner, write_spec
from tests.runtime.test_trials import SIMPLE

MODEL = "openai/scripted-sre"


def fixing_script() -> list[Reply]:
    return [
        tool_reply("run_shell", {"command": "cat /root/prepared; ls /root"}),
        tool_reply("run_shell", "{this is not json"),  # malformed: an error observation
        tool_reply("run_shell", {"command": "echo done > /root/done"}),
        tool_reply("submit_answer", {"answer": "Created /root/done with the word done."}),
    ]


@pytest.fixture
def simple(project: ProjectPaths) -> ProjectPaths:
    # The agent's time includes LiteLLM's import (seconds on a loaded machine): give the
    # scripted model room, since this test is about the loop, not the deadline.
    write_spec(project, "basic", "touch-file", SIMPLE.replace("agent_sec: 20", "agent_sec: 120"))
    return project


def test_scripted_model_fixes_a_real_task(
    simple: ProjectPaths, run_task: TrialRunner, model: ScriptedModel
) -> None:
    server, settings = model
    server.push(*fixing_script())
    result, paths = run_task(
        "touch-file", "sre", job="sre-fix", model=MODEL, provider_settings=settings
    )
    assert result.outcome == Outcome.GRADED, result.exception
    assert result.rewards is not None and result.rewards.passed
    assert len(server.requests) == 4
    commands = [json.loads(line)["command"] for line in paths.commands.read_text().splitlines()]
    assert "echo done > /root/done" in commands
    trajectory = json.loads(paths.trajectory.read_text())
    assert trajectory["schema_version"].startswith("ATIF")
    assert trajectory["extra"]["final_answer"].startswith("Created /root/done")
    saved = json.loads(paths.result.read_text())["usage"]
    assert saved["calls"] == 4 and saved["input_tokens"] > 0 and saved["output_tokens"] > 0
    # the malformed tool call reached the model as an error, not a crash
    second_followup = server.requests[2].body["messages"][-1]["content"]
    assert "error" in second_followup.lower() or "invalid" in second_followup.lower()


def test_provider_failures_within_budget_are_invisible(
    simple: ProjectPaths, run_task: TrialRunner, model: ScriptedModel
) -> None:
    server, settings = model
    script = fixing_script()
    server.push(
        error_reply(429, "slow down", retry_after=0.05), error_reply(500), script[0], *script[1:]
    )
    result, _ = run_task(
        "touch-file", "sre", job="sre-flaky", model=MODEL, provider_settings=settings
    )
    assert result.outcome == Outcome.GRADED and result.rewards is not None
    assert result.rewards.passed and result.rewards.reward == 1.0
    assert result.usage.retries == 2


def test_provider_outage_is_provider_error_and_resume_reruns_it(
    simple: ProjectPaths,
    model: ScriptedModel,
    monkeypatch: pytest.MonkeyPatch,
    docker_images: None,
) -> None:
    from opsbench.cli import main

    server, settings = model
    monkeypatch.chdir(simple.root)
    args = [
        "job",
        "--model",
        MODEL,
        "--n-attempts",
        "1",
        "--job-name",
        "outage",
        "--api-base",
        settings["api_base"],
        "--max-retries",
        "1",
        "--quiet",
        "--agent-kwarg",
        "max_steps=6",
    ]
    server.push(*[error_reply(503, "overloaded")] * 2)
    assert main(args) == 0
    job = simple.jobs / "outage"
    first = json.loads((job / "touch-file__1" / "result.json").read_text())
    assert first["outcome"] == "provider_error"
    assert first["rewards"] is None  # never a zero
    server.push(*fixing_script())
    assert main(args) == 0
    second = json.loads((job / "touch-file__1" / "result.json").read_text())
    assert second["outcome"] == "graded" and second["rewards"]["passed"]
    archived = list((job / ".archive").glob("*/provider_error/touch-file__1/result.json"))
    assert len(archived) == 1  # the failed attempt was kept aside, not deleted
