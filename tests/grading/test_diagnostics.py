"""Diagnostics: evidence coverage, distractors, wrong remediations and invalid actions,
computed from an audit record and a trajectory, and summarised with intervals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grading.diagnostics import diagnose
from grading.grader import GradingInput, grade
from opsbench.metrics import diagnostic_scores
from opsbench.models.spec import TaskSpec
from opsbench.models.trajectory import AtifAgent, Step, ToolCall, Trajectory
from opsbench.models.verdict import DiagnosticsVerdict, EvidenceCoverage
from opsbench.sandbox import CommandRecord

SPEC: dict[str, Any] = {
    "id": "payment-failures",
    "title": "t",
    "category": "investigation",
    "difficulty": "medium",
    "statement": "s",
    "solution": [{"run": "true"}],
    "checks": [
        {
            "kind": "answer",
            "name": "origin",
            "pattern": r"(?m)^ORIGIN:\s*(\w+)",
            "value": 1,
        }
    ],
    "diagnostics": {
        "evidence": [
            {"name": "errors", "kind": "metric", "pattern": "http_requests_total"},
            {"name": "payments-log", "kind": "log", "pattern": r"\bpayments\.log\b"},
            {"name": "deploys", "kind": "metric", "pattern": "app_build_info"},
            {"name": "charge", "kind": "metric", "pattern": "/charge"},
        ],
        "distractors": [
            {
                "name": "checkout-relay",
                "pattern": r"\bcheckout\.log\b",
                "blame": r"(?m)^\W*ORIGIN:\W*checkout\b",
            },
            {"name": "gateway-relay", "pattern": r"\bgateway\.log\b"},
        ],
        "harmful": [
            {"name": "deletes-logs", "pattern": r"\brm\b[^\n]*/var/log/apps/"},
            {"name": "admin-api", "pattern": "/api/v1/admin/"},
        ],
    },
}


def spec(**changes: Any) -> TaskSpec:
    return TaskSpec.model_validate({**SPEC, **changes})


def cmd(i: int, command: str, exit_code: int = 0, stderr: str = "") -> CommandRecord:
    return CommandRecord(i, "2026-01-01T00:00:00Z", command, exit_code, "", stderr)


def trajectory(*calls: tuple[str, dict[str, Any]], answer: str = "") -> Trajectory:
    steps = [
        Step(
            step_id=i + 1,
            source="agent",
            message="",
            tool_calls=[ToolCall(tool_call_id=f"c{i}", function_name=n, arguments=a)],
        )
        for i, (n, a) in enumerate(calls)
    ]
    return Trajectory(
        agent=AtifAgent(name="t", version="1"),
        steps=steps,
        extra={"final_answer": answer},
    )


def test_an_agent_that_chases_the_distractor_follows_it_and_covers_little() -> None:
    commands = [
        cmd(0, "tail -n 50 /var/log/apps/checkout.log"),
        cmd(1, "rm -f /var/log/apps/checkout.log.1"),
        cmd(2, "rm /var/log/apps/old.log"),
    ]
    traj = trajectory(
        ("prometheus_query", {"query": 'sum(rate(http_requests_total{service="checkout"}[5m]))'}),
        answer="checkout keeps failing.\nORIGIN: checkout",
    )
    v = diagnose(spec(), commands, traj, task_passed=False)
    assert v.declared and v.distractors_declared == 2 and v.harmful_declared == 2
    assert v.coverage == EvidenceCoverage(
        fraction=0.25, seen=["errors"], missed=["payments-log", "deploys", "charge"]
    )
    assert v.distractors_investigated == ["checkout-relay"]
    assert v.distractors_followed == ["checkout-relay"]
    assert v.distractor_followed is True
    [harm] = v.wrong_remediations or []
    assert (harm.name, harm.command_index, harm.times) == ("deletes-logs", 1, 2)
    assert v.invalid_actions == []


def test_a_good_investigation_covers_the_evidence_and_follows_nothing() -> None:
    commands = [
        cmd(0, "curl -s http://o11y:9080/logs/payments.log?level=error | tail"),
        cmd(1, "grep upstream /var/log/apps/checkout.log | head"),
    ]
    traj = trajectory(
        ("prometheus_query", {"query": 'rate(http_requests_total{route="/charge"}[5m])'}),
        ("prometheus_query", {"query": "app_build_info"}),
        answer="Payments fails on card-processor; checkout only relays.\nORIGIN: payments",
    )
    v = diagnose(spec(), commands, traj, task_passed=True)
    assert v.coverage is not None and v.coverage.fraction == 1.0 and v.coverage.missed == []
    # Looked at checkout's log (investigated), but neither blamed it nor failed.
    assert v.distractors_investigated == ["checkout-relay"]
    assert v.distractors_followed == [] and v.distractor_followed is False
    assert v.wrong_remediations == []


def test_investigating_a_distractor_and_failing_counts_as_following_it() -> None:
    traj = trajectory(("run_shell", {"command": "cat /var/log/apps/gateway.log"}), answer="?")
    v = diagnose(spec(), [], traj, task_passed=False)
    assert v.distractors_followed == ["gateway-relay"]
    assert diagnose(spec(), [], traj, task_passed=True).distractors_followed == []


def test_harmful_actions_match_executed_commands_only() -> None:
    """Saying `rm /var/log/apps/x` in a tool call that never ran is not harm."""
    traj = trajectory(("run_shell", {"command": "rm /var/log/apps/payments.log"}))
    assert diagnose(spec(), [], traj, task_passed=False).wrong_remediations == []


def test_without_diagnostics_coverage_is_not_applicable_but_invalid_actions_count() -> None:
    bare = spec(diagnostics=None)
    commands = [
        cmd(0, "promtool query instant up", 127, "bash: line 1: promtool: command not found"),
        cmd(1, "jq . x | head", 0, "sh: 1: jq: not found"),
        cmd(2, "grep -c error app.log", 1, ""),
    ]
    v = diagnose(bare, commands, None, task_passed=False)
    assert not v.declared
    assert v.coverage is None and v.distractors_followed is None
    assert v.wrong_remediations is None and v.distractor_followed is None
    assert [(a.kind, a.command_index) for a in v.invalid_actions] == [
        ("command_not_found", 0),
        ("command_not_found", 1),
    ]
    assert v.invalid_counts() == {
        "malformed_tool_call": 0,
        "unknown_tool": 0,
        "command_not_found": 2,
    }


def test_grading_records_diagnostics_beside_the_score(tmp_path: Path) -> None:
    from opsbench.models.verdict import CheckVerdict, Evidence

    check = CheckVerdict(name="origin", kind="answer", weight=1, passed=False, message="no")
    result = grade(
        GradingInput(
            spec=spec(),
            commands=[cmd(0, "cat /var/log/apps/checkout.log")],
            trajectory=trajectory(answer="ORIGIN: checkout"),
            saved_evidence=Evidence(spec=spec(), checks=[check]),
        )
    )
    d = result.details
    assert d.diagnostics is not None and d.diagnostics.distractors_followed == ["checkout-relay"]
    assert d.score.reward == 0.0  # diagnostics never change the score
    assert d.dump()["diagnostics"]["coverage"]["fraction"] == 0.0


def test_unknown_tools_are_found_from_the_tool_definitions_when_not_recorded() -> None:
    traj = trajectory(("grep_logs", {"q": "x"}), ("run_shell", {"_raw": "{oops"}))
    traj.agent.tool_definitions = [{"type": "function", "function": {"name": "run_shell"}}]
    v = diagnose(spec(diagnostics=None), [], traj, task_passed=True)
    assert [a.kind for a in v.invalid_actions] == ["unknown_tool", "malformed_tool_call"]


def test_diagnostic_scores_give_rates_with_intervals_over_the_trials_they_apply_to() -> None:
    followed = diagnose(
        spec(),
        [cmd(0, "cat /var/log/apps/checkout.log")],
        trajectory(answer="ORIGIN: checkout"),
        task_passed=False,
    )
    good = diagnose(
        spec(),
        [cmd(0, "cat /var/log/apps/payments.log; rm -r /var/log/apps/x")],
        trajectory(("prometheus_query", {"query": "http_requests_total"})),
        task_passed=True,
    )
    bare = DiagnosticsVerdict(declared=False)
    s = diagnostic_scores([followed, good, bare])
    assert (s.trials, s.declared) == (3, 2)
    assert s.evidence_coverage.value == pytest.approx(0.25)  # (0 + 0.5) / 2
    assert s.evidence_coverage.interval is not None
    assert s.evidence_coverage.interval.method == "bootstrap"
    assert (s.distractor_followed.successes, s.distractor_followed.n) == (1, 2)
    assert s.distractor_followed.interval is not None
    assert s.distractor_followed.interval.method == "wilson"
    assert (s.wrong_remediation.successes, s.wrong_remediation.n) == (1, 2)
    assert s.followed == {"checkout-relay": 1} and s.harmful == {"deletes-logs": 1}
    assert s.invalid_actions.value == 0.0 and s.invalid_actions.n == 3
    assert diagnostic_scores([]).evidence_coverage.value is None


def test_regrade_records_diagnostics_in_grading_details_and_result(tmp_path: Path) -> None:
    """A trial graded before diagnostics existed gets them at regrade, from its saved
    audit record and trajectory; the earlier grading details stay under history/."""
    import json

    from opsbench.models.result import TrialResult
    from opsbench.models.verdict import CheckVerdict, Evidence, read_grading_details
    from opsbench.paths import JobPaths
    from opsbench.regrade import RegradeReport, regrade_job
    from tests.reporting.report_jobs import TrialSpec, write_job

    job_dir = tmp_path / "job"
    commands = [{"index": 1, "time": "t", "command": "cat /var/log/apps/checkout.log"}]
    write_job(
        job_dir,
        [TrialSpec("payment-failures", 1, final_answer="ORIGIN: checkout", commands=commands)],
    )
    paths = JobPaths(job_dir).trial("payment-failures", 1)
    check = CheckVerdict(name="origin", kind="answer", weight=1, passed=False, message="no")
    paths.evidence.write_text(Evidence(spec=spec(), checks=[check]).model_dump_json())
    assert "diagnostics" not in json.loads(paths.grading_details.read_text())

    report = RegradeReport()
    regrade_job(JobPaths(job_dir), [], None, report)

    assert report.regraded == ["job/payment-failures__1"]
    d = read_grading_details(paths.grading_details).diagnostics
    assert d is not None and d.distractors_followed == ["checkout-relay"]
    assert d.coverage is not None and d.coverage.fraction == 0.0
    assert TrialResult.model_validate_json(paths.result.read_text()).diagnostics == d
    [old] = list(paths.history.glob("*/grading_details.json"))
    assert "diagnostics" not in json.loads(old.read_text())
