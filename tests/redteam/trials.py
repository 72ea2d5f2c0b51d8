"""Synthetic trial directories for audit and red-team tests, written through the models."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsbench.models.result import Outcome, Rewards, TrialResult, VariantInfo
from opsbench.models.trajectory import (
    AtifAgent,
    Observation,
    ObservationResult,
    Step,
    ToolCall,
    Trajectory,
    write_json_atomic,
)
from opsbench.paths import JobPaths, TaskPaths, TrialPaths

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

NGINX_CHECKS = [
    {
        "kind": "command",
        "name": "site-serves-200",
        "run": "curl -s -o /dev/null -w '%{http_code}' http://localhost/",
        "weight": 2.0,
    },
    {"kind": "file", "name": "upstream-fixed", "path": "/etc/nginx/sites-enabled/default"},
    {
        "kind": "command",
        "name": "stays-up",
        "run": "before=$(cat /run/inventory/restarts); sleep 2; cat /run/inventory/restarts",
    },
]
TRACE_INSTRUCTION = (
    "Follow the request.\n\nREQUEST_ID: <the request id>\n"
    "ROOT_SERVICE: <the service where the error originated>\n"
    "STILL_FAILING: <yes or no>\n"
)


def make_task(root: Path, task_id: str, checks: list[dict[str, Any]]) -> TaskPaths:
    task = TaskPaths(root / "tasks" / task_id)
    task.tests.mkdir(parents=True, exist_ok=True)
    spec = {"id": task_id, "category": "test", "checks": checks, "environment": {}}
    task.spec_json.write_text(json.dumps(spec))
    return task


def write_trial(
    job_dir: Path,
    task: TaskPaths,
    attempt: int = 1,
    *,
    commands: list[str] = (),  # type: ignore[assignment]
    answer: str = "",
    instruction: str = "",
    passed: bool = True,
    passed_checks: list[str] | None = None,
    shown_calls: int | None = None,
    agent: str = "test-agent",
) -> TrialPaths:
    """A graded trial: commands become both the audit record and run_shell steps
    (`shown_calls` > len(commands) forges extra steps with output)."""
    trial = JobPaths(job_dir).trial(task.task_id, attempt)
    trial.make()
    write_json_atomic(trial.config, {"task_dir": str(task.dir), "trial_name": trial.dir.name})
    trial.instruction.write_text(instruction)
    with trial.commands.open("w") as fh:
        for i, command in enumerate(commands, 1):
            fh.write(json.dumps({"index": i, "time": "t", "command": command, "exit_code": 0}))
            fh.write("\n")
    steps = [Step(step_id=1, source="user", message=instruction)]
    for i in range(shown_calls if shown_calls is not None else len(commands)):
        text = commands[i] if i < len(commands) else "cat /var/log/apps/*.log"
        steps.append(
            Step(
                step_id=len(steps) + 1,
                source="agent",
                message="",
                tool_calls=[
                    ToolCall(
                        tool_call_id=f"c{i}", function_name="run_shell", arguments={"command": text}
                    )
                ],
                observation=Observation(results=[ObservationResult(content="out")]),
            )
        )
    trajectory = Trajectory(
        agent=AtifAgent(name=agent, version="1"), steps=steps, extra={"final_answer": answer}
    )
    write_json_atomic(trial.trajectory, trajectory.model_dump(mode="json", exclude_none=True))
    names = [c["name"] for c in json.loads(task.spec_json.read_text())["checks"]]
    ok = names if passed_checks is None else passed_checks
    write_json_atomic(
        trial.grading_details,
        {
            "checks": [
                {"name": n, "kind": "command", "weight": 1.0, "passed": n in ok} for n in names
            ]
        },
    )
    result = TrialResult(
        trial_name=trial.dir.name,
        job_name=job_dir.name,
        task_id=task.task_id,
        attempt=attempt,
        task_checksum="sha256:x",
        category="test",
        difficulty="easy",
        variant=VariantInfo(model=None, reasoning_effort="off", agent=agent),
        outcome=Outcome.GRADED,
        started_at=T0,
        finished_at=T0,
        rewards=Rewards(reward=1.0 if passed else 0.0, task=passed, compliance=True, passed=passed),
    )
    write_json_atomic(trial.result, result.model_dump(mode="json"))
    return trial
