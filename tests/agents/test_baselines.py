"""The model-free baselines: valid actions only, reproducible, ATIF trajectories."""

from __future__ import annotations

import json
from collections.abc import Callable

from agents.baselines import RandomAgent, ScriptedAgent
from opsbench.agent import AgentConfig, AgentContext, resolve_agent
from opsbench.models.trajectory import Trajectory, load_trajectory
from tests.fakes.sandbox import FakeSandbox

MakeContext = Callable[..., AgentContext]


def box() -> FakeSandbox:
    up = {
        "status": "success",
        "data": {
            "result": [
                {"metric": {"job": "checkout"}, "value": [0, "0"]},
                {"metric": {"job": "prometheus"}, "value": [0, "1"]},
            ]
        },
    }
    alerts = {
        "status": "success",
        "data": {
            "alerts": [
                {"labels": {"alertname": "CheckoutDown"}, "state": "firing"},
                {"labels": {"alertname": "HighLatency"}, "state": "pending"},
            ]
        },
    }
    return FakeSandbox(
        commands={"ps aux": "root 1 init", "df -h": "/dev/sda1 10G", "uptime": "up 1 day"},
        http={
            "http://o11y:9090/api/v1/query?": json.dumps(up),
            "http://o11y:9090/api/v1/alerts": json.dumps(alerts),
            "http://o11y:9090/": "Prometheus",
        },
    )


def run(
    name: str, kwargs: dict[str, object], make_context: MakeContext
) -> tuple[Trajectory, FakeSandbox]:
    config = AgentConfig(kwargs=dict(kwargs))
    context = make_context(config)
    sandbox = box()
    resolve_agent(name)(config).run("checkout is failing", sandbox, context)
    trajectory = load_trajectory(context.trajectory_path)
    assert trajectory is not None
    return trajectory, sandbox


def observations(trajectory: Trajectory) -> list[str]:
    return trajectory.tool_outputs()


def test_random_agent_takes_valid_actions_reproducibly(make_context: MakeContext) -> None:
    first, sandbox_a = run("random", {"seed": 7, "steps": 12}, make_context)
    _, sandbox_b = run("random", {"seed": 7, "steps": 12}, make_context)
    other, sandbox_c = run("random", {"seed": 8, "steps": 12}, make_context)

    calls = [(c.function_name, c.arguments) for s in first.steps for c in (s.tool_calls or [])]
    assert len(calls) == 13  # 12 random actions and the answer
    assert calls[-1][0] == "submit_answer"
    assert {name for name, _ in calls[:-1]} <= {
        "run_shell",
        "prometheus_query",
        "list_alerts",
        "http_get",
    }
    assert len({name for name, _ in calls[:-1]}) >= 3, "random over the tool set"
    # every action was valid: no argument or unknown-tool errors came back
    assert not [o for o in observations(first) if o.startswith("error:")]
    assert [c.command for c in sandbox_a.execs] == [c.command for c in sandbox_b.execs]
    assert [c.command for c in sandbox_a.execs] != [c.command for c in sandbox_c.execs]
    assert other.final_answer() == first.final_answer() != ""


def test_random_agent_falls_back_to_the_trial_seed(make_context: MakeContext) -> None:
    config = AgentConfig(kwargs={"steps": "5"})
    commands = []
    for _ in range(2):
        context = make_context(config, seed=42)
        sandbox = box()
        RandomAgent(config).run("x", sandbox, context)
        commands.append([c.command for c in sandbox.execs])
    assert commands[0] == commands[1]
    assert len(commands[0]) >= 1


def test_scripted_agent_follows_the_runbook_and_summarises(make_context: MakeContext) -> None:
    trajectory, sandbox = run("scripted", {}, make_context)

    commands = [c.command for c in sandbox.execs]
    logs, procs, ports, disk = commands[:4]
    assert "/var/log" in logs
    assert procs.startswith("ps ")
    assert "ss -ltnp" in ports
    assert "df -h" in disk
    assert sandbox.fetched_urls() == [
        "http://o11y:9090/api/v1/query?query=up",
        "http://o11y:9090/api/v1/alerts",
    ]
    answer = trajectory.final_answer()
    assert "Scrape targets down: checkout" in answer
    assert "CheckoutDown (firing)" in answer
    assert "HighLatency (pending)" in answer
    assert trajectory.final_metrics is not None
    assert trajectory.final_metrics.extra == {"stop_reason": "submitted", "tool_calls": 7}
    assert isinstance(resolve_agent("scripted")(AgentConfig()), ScriptedAgent)
    assert isinstance(resolve_agent("random")(AgentConfig()), RandomAgent)
