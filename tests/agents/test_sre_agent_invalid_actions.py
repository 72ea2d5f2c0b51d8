"""The sre agent records the tool calls it could not run, so diagnostics count them:
a real run against the scripted OpenAI-compatible server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grading.diagnostics import diagnose
from opsbench.agent import AgentConfig, resolve_agent
from opsbench.models.trajectory import load_trajectory
from opsbench.sandbox import AuditedSandbox, ExecOutput, read_commands
from tests.fakes.openai_server import FakeOpenAIServer, tool_calls_reply, tool_reply
from tests.fakes.sandbox import FakeSandbox
from tests.grading.test_diagnostics import spec


def test_the_sre_agent_records_malformed_and_unknown_tool_calls_and_they_are_counted(
    openai_server: FakeOpenAIServer, make_context: Any, tmp_path: Path
) -> None:
    """A real sre-agent run against the scripted OpenAI-compatible server: a call with
    arguments that are not JSON, a tool it does not have, a call that fails validation,
    a command the shell does not find; then the answer."""
    openai_server.push(
        tool_reply("run_shell", '{"command": "cat /var/log/apps/checkout', call_id="c_bad"),
        tool_reply("grep_logs", {"pattern": "error"}, call_id="c_unknown"),
        tool_calls_reply(
            [("run_shell", {"command": ""}), ("run_shell", {"command": "promtool check"})],
            call_ids=["c_invalid", "c_127"],
        ),
        tool_reply("run_shell", {"command": "tail /var/log/apps/checkout.log"}),
        tool_reply("submit_answer", {"answer": "ORIGIN: checkout"}),
    )
    fake = FakeSandbox(commands={"tail /var/log/apps/checkout.log": ExecOutput(0, "502", "", 0.01)})
    audited = AuditedSandbox(fake, tmp_path / "commands.jsonl")
    context = make_context(AgentConfig(model="openai/gpt-4o", kwargs={"max_steps": "8"}))
    agent = resolve_agent("sre")(context.config)
    agent.run("Find where the 502s come from.", audited, context)
    traj = load_trajectory(context.trajectory_path)
    assert traj is not None
    recorded = [item for s in traj.steps for item in (s.extra or {}).get("invalid_tool_calls", [])]
    assert [(r["tool_call_id"], r["kind"]) for r in recorded] == [
        ("c_bad", "malformed_tool_call"),
        ("c_unknown", "unknown_tool"),
        ("c_invalid", "malformed_tool_call"),
    ]
    v = diagnose(spec(), read_commands(tmp_path / "commands.jsonl"), traj, task_passed=False)
    assert v.invalid_counts() == {
        "malformed_tool_call": 2,
        "unknown_tool": 1,
        "command_not_found": 1,
    }
    kinds = [(a.kind, a.step_id is not None, a.command_index) for a in v.invalid_actions]
    assert kinds == [
        ("malformed_tool_call", True, None),
        ("unknown_tool", True, None),
        ("malformed_tool_call", True, None),
        ("command_not_found", False, 1),  # the audit record counts from 1
    ]
    assert v.distractors_followed == ["checkout-relay"]
