"""The sre agent against a scripted model (real HTTP, through LiteLLM) and a fake Sandbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from agents.sre_agent import SreAgent
from opsbench.agent import AgentConfig, AgentContext, resolve_agent
from opsbench.failures import ProviderError
from opsbench.models.trajectory import Trajectory, load_trajectory
from opsbench.providers import ProviderConfigError
from opsbench.sandbox import AuditedSandbox, ExecOutput, SandboxClosed, read_commands
from tests.fakes.openai_server import (
    FakeOpenAIServer,
    error_reply,
    text_reply,
    tool_calls_reply,
    tool_reply,
)
from tests.fakes.sandbox import FakeSandbox

MakeContext = Callable[..., AgentContext]
UP = json.dumps(
    {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [{"metric": {"job": "nginx"}, "value": [0, "0"]}],
        },
    }
)
ALERTS = json.dumps(
    {
        "status": "success",
        "data": {"alerts": [{"labels": {"alertname": "NginxDown"}, "state": "firing"}]},
    }
)


def sandbox() -> FakeSandbox:
    return FakeSandbox(
        commands={
            "systemctl status nginx": ExecOutput(3, "nginx.service: inactive (dead)", "", 0.1),
            "systemctl start nginx": "",
        },
        http={
            "http://o11y:9090/api/v1/query?": UP,
            "http://o11y:9090/api/v1/query_range?": '{"status":"success","data":{"result":[]}}',
            "http://o11y:9090/api/v1/alerts": ALERTS,
            "http://app:8080/health": "ok",
        },
    )


def run(config: AgentConfig, box: Any, context: AgentContext) -> Trajectory:
    agent = resolve_agent("sre")(config)
    try:
        agent.run("nginx is down on this host. Find out why and fix it.", box, context)
    finally:
        trajectory = load_trajectory(context.trajectory_path)
    assert trajectory is not None, "trajectory.json is missing or not valid ATIF"
    return trajectory


def test_a_scripted_conversation_leaves_a_valid_trajectory(
    openai_server: FakeOpenAIServer, make_context: MakeContext, tmp_path: Path
) -> None:
    openai_server.push(
        tool_reply("run_shell", {"command": "systemctl status nginx"}, content="Check nginx."),
        tool_reply("prometheus_query", {"query": "up"}),
        tool_reply(
            "prometheus_query",
            {
                "query": "rate(x[5m])",
                "start": "2026-01-01T11:00:00Z",
                "end": "2026-01-01T12:00:00Z",
            },
        ),
        tool_reply("run_shell", '{"command": "systemctl start ngi', call_id="call_bad"),
        tool_calls_reply(
            [("list_alerts", {}), ("run_shell", {"command": "systemctl start nginx"})]
        ),
        tool_reply("http_get", {"url": "http://app:8080/health"}),
        tool_reply("submit_answer", {"answer": "nginx was stopped; started it; health is ok"}),
    )
    fake = sandbox()
    audited = AuditedSandbox(fake, tmp_path / "commands.jsonl")
    context = make_context(AgentConfig(model="openai/gpt-4o", kwargs={"max_steps": "12"}))

    trajectory = run(context.config, audited, context)

    # the trajectory
    assert [s.source for s in trajectory.steps] == ["system", "user"] + ["agent"] * 7
    assert trajectory.final_answer() == "nginx was stopped; started it; health is ok"
    assert trajectory.final_metrics is not None
    assert trajectory.final_metrics.extra == {
        "stop_reason": "submitted",
        "model_calls": 7,
        "max_steps": 12,
        "max_tokens_total": 500_000,
    }
    assert trajectory.final_metrics.total_prompt_tokens == 70
    assert trajectory.agent.model_name == "openai/gpt-4o"
    assert {t["function"]["name"] for t in trajectory.agent.tool_definitions or []} == {
        "run_shell",
        "prometheus_query",
        "list_alerts",
        "http_get",
        "submit_answer",
    }
    first = trajectory.steps[2]
    assert first.message == "Check nginx."
    assert first.observation is not None
    assert "inactive (dead)" in (first.observation.results[0].content or "")
    assert "exit_code: 3" in (first.observation.results[0].content or "")

    # the malformed call: recorded raw, answered with an error, and the run went on
    bad = trajectory.steps[5]
    assert bad.tool_calls is not None
    assert bad.tool_calls[0].arguments == {"_raw": '{"command": "systemctl start ngi'}
    assert bad.observation is not None
    assert (bad.observation.results[0].content or "").startswith(
        "error: arguments are not valid JSON"
    )
    next_messages = openai_server.requests[4].body["messages"]
    tool_msg = next(m for m in next_messages if m.get("tool_call_id") == "call_bad")
    assert tool_msg["content"].startswith("error:")

    # what ran in the sandbox, through the audited handle only
    assert [c.command for c in read_commands(tmp_path / "commands.jsonl")] == [
        c.command for c in fake.execs
    ]
    assert "systemctl start nginx" in [c.command for c in fake.execs]
    urls = fake.fetched_urls()
    assert urls[0] == "http://o11y:9090/api/v1/query?query=up"
    range_query = parse_qs(urlparse(urls[1]).query)
    assert urlparse(urls[1]).path == "/api/v1/query_range"
    assert range_query["query"] == ["rate(x[5m])"]
    assert range_query["step"] == ["60s"]
    assert urls[2:] == ["http://o11y:9090/api/v1/alerts", "http://app:8080/health"]

    # what the model was sent
    body = openai_server.requests[0].body
    assert body["model"] == "gpt-4o"
    assert body["messages"][0]["role"] == "system"
    assert "nginx is down on this host" in body["messages"][1]["content"]
    assert "2026-01-01T12:00:00Z" in body["messages"][1]["content"]
    assert len(body["tools"]) == 5
    assert context.usage.calls == 7
    assert context.usage.input_tokens == 70


def test_prompts_come_from_the_prompt_files(
    openai_server: FakeOpenAIServer, make_context: MakeContext
) -> None:
    openai_server.push(tool_reply("submit_answer", {"answer": "done"}))
    context = make_context(AgentConfig(model="openai/gpt-4o"))

    run(context.config, sandbox(), context)

    system = openai_server.requests[0].body["messages"][0]["content"]
    source = (Path(__file__).parents[2] / "agents/prompts/sre_system.md").read_text()
    first_line = source.splitlines()[0]
    assert first_line in system
    assert "{{" not in system, "the template was not rendered"


def test_long_output_keeps_head_and_tail(
    openai_server: FakeOpenAIServer, make_context: MakeContext
) -> None:
    box = sandbox()
    box.commands["cat big.log"] = "HEAD" + "x" * 50_000 + "TAIL"
    openai_server.push(
        tool_reply("run_shell", {"command": "cat big.log"}),
        tool_reply("submit_answer", {"answer": "done"}),
    )
    context = make_context(AgentConfig(model="openai/gpt-4o", kwargs={"output_limit": 1000}))

    trajectory = run(context.config, box, context)

    observation = trajectory.steps[2].observation
    assert observation is not None
    content = observation.results[0].content or ""
    assert "HEAD" in content
    assert "TAIL" in content
    assert "truncated" in content
    assert len(content) < 1200


def test_shell_timeout_is_passed_and_capped(
    openai_server: FakeOpenAIServer, make_context: MakeContext
) -> None:
    box = sandbox()
    box.commands["sleep 1000"] = ExecOutput(124, "", "", 5.0, timed_out=True)
    openai_server.push(
        tool_reply("run_shell", {"command": "sleep 1000", "timeout_sec": 9999}),
        tool_reply("submit_answer", {"answer": "done"}),
    )
    kwargs = {"command_timeout": 5, "max_command_timeout": 7}
    context = make_context(AgentConfig(model="openai/gpt-4o", kwargs=kwargs))

    trajectory = run(context.config, box, context)

    assert box.execs[0].timeout == 7
    observation = trajectory.steps[2].observation
    assert observation is not None
    assert "timed out" in (observation.results[0].content or "")


def test_step_limit_stops_the_loop(
    openai_server: FakeOpenAIServer, make_context: MakeContext
) -> None:
    openai_server.push(*[tool_reply("list_alerts", {}) for _ in range(6)])
    context = make_context(AgentConfig(model="openai/gpt-4o", kwargs={"max_steps": 3}))

    trajectory = run(context.config, sandbox(), context)

    assert len(openai_server.requests) == 3
    assert trajectory.final_metrics is not None
    assert trajectory.final_metrics.extra is not None
    assert trajectory.final_metrics.extra["stop_reason"] == "max_steps"
    assert trajectory.agent.extra is not None
    assert trajectory.agent.extra["options"]["max_steps"] == 3


def test_token_budget_stops_the_loop(
    openai_server: FakeOpenAIServer, make_context: MakeContext
) -> None:
    openai_server.push(
        *[tool_reply("list_alerts", {}, prompt_tokens=100, completion_tokens=20) for _ in range(6)]
    )
    context = make_context(AgentConfig(model="openai/gpt-4o", kwargs={"max_tokens_total": 300}))

    trajectory = run(context.config, sandbox(), context)

    assert len(openai_server.requests) == 3  # 120, 240, 360 >= 300: no fourth call
    assert trajectory.final_metrics is not None
    assert trajectory.final_metrics.extra is not None
    assert trajectory.final_metrics.extra["stop_reason"] == "token_budget"
    assert trajectory.agent.extra is not None
    assert trajectory.agent.extra["options"]["max_tokens_total"] == 300


def test_text_replies_get_a_nudge_then_end_the_run(
    openai_server: FakeOpenAIServer, make_context: MakeContext
) -> None:
    openai_server.push(text_reply("Let me think."), text_reply("The cause is a stopped nginx."))
    context = make_context(AgentConfig(model="openai/gpt-4o"))

    trajectory = run(context.config, sandbox(), context)

    assert len(openai_server.requests) == 2
    assert openai_server.requests[1].body["messages"][-1]["role"] == "user"
    assert trajectory.final_answer() == "The cause is a stopped nginx."
    assert [s.source for s in trajectory.steps] == ["system", "user", "agent", "user", "agent"]
    assert trajectory.final_metrics is not None
    assert trajectory.final_metrics.extra is not None
    assert trajectory.final_metrics.extra["stop_reason"] == "no_tool_call"


def test_a_crash_mid_run_leaves_a_readable_partial_trajectory(
    openai_server: FakeOpenAIServer, make_context: MakeContext
) -> None:
    box = sandbox()
    box.fail_on = 2
    box.failure = SandboxClosed("the sandbox was stopped")
    openai_server.push(
        tool_reply("run_shell", {"command": "systemctl status nginx"}),
        tool_reply("run_shell", {"command": "systemctl start nginx"}, call_id="call_crash"),
        tool_reply("submit_answer", {"answer": "never"}),
    )
    context = make_context(AgentConfig(model="openai/gpt-4o"))

    with pytest.raises(SandboxClosed):
        run(context.config, box, context)

    trajectory = load_trajectory(context.trajectory_path)
    assert trajectory is not None
    agent_steps = [s for s in trajectory.steps if s.source == "agent"]
    assert len(agent_steps) == 2
    assert agent_steps[0].observation is not None
    # the step that crashed is recorded with its tool call, but no observation
    assert agent_steps[1].tool_calls is not None
    assert agent_steps[1].tool_calls[0].tool_call_id == "call_crash"
    assert agent_steps[1].observation is None
    assert trajectory.final_metrics is not None
    assert trajectory.final_metrics.extra is not None
    assert trajectory.final_metrics.extra["stop_reason"].startswith("crashed: SandboxClosed")


def test_provider_failure_mid_run_is_a_provider_error_with_a_trajectory(
    openai_server: FakeOpenAIServer, make_context: MakeContext
) -> None:
    openai_server.push(tool_reply("list_alerts", {}))
    openai_server.push(*[error_reply(503, "unavailable") for _ in range(5)])
    context = make_context(AgentConfig(model="openai/gpt-4o"))

    with pytest.raises(ProviderError):
        run(context.config, sandbox(), context)

    trajectory = load_trajectory(context.trajectory_path)
    assert trajectory is not None
    assert [s.source for s in trajectory.steps] == ["system", "user", "agent"]
    assert context.usage.errors == {"server_error": 3}


def test_context_overflow_ends_the_run_without_a_crash(
    openai_server: FakeOpenAIServer, make_context: MakeContext
) -> None:
    openai_server.push(
        tool_reply("list_alerts", {}),
        error_reply(
            400,
            "This model's maximum context length is 128000 tokens.",
            error_type="invalid_request_error",
            code="context_length_exceeded",
        ),
    )
    context = make_context(AgentConfig(model="openai/gpt-4o"))

    trajectory = run(context.config, sandbox(), context)

    assert trajectory.final_metrics is not None
    assert trajectory.final_metrics.extra is not None
    assert trajectory.final_metrics.extra["stop_reason"] == "context_length"


def test_reasoning_effort_and_settings_flow_from_the_config(
    openai_server: FakeOpenAIServer, make_context: MakeContext
) -> None:
    openai_server.push(tool_reply("submit_answer", {"answer": "done"}))
    context = make_context(AgentConfig(model="openai/o3-mini", reasoning_effort="high"))

    trajectory = run(context.config, sandbox(), context)

    assert openai_server.requests[0].body["reasoning_effort"] == "high"
    assert trajectory.steps[2].reasoning_effort == "high"


def test_bad_configuration_is_never_scored_as_the_agents_failure(
    make_context: MakeContext,
) -> None:
    with pytest.raises(ProviderConfigError, match="max_stepz"):
        SreAgent(AgentConfig(model="openai/gpt-4o", kwargs={"max_stepz": 3}))
    context = make_context(AgentConfig(model=None))
    with pytest.raises(ProviderConfigError, match="needs a model"):
        SreAgent(context.config).run("x", sandbox(), context)
    context = make_context(AgentConfig(model="openai/gpt-4o", reasoning_effort="high"))
    with pytest.raises(ProviderError, match="does not support reasoning"):
        SreAgent(context.config).run("x", sandbox(), context)
