"""Synthetic job directories for store tests, written through the real models.

Each job has its own scenario clock and trial times, so jobs of one variant line up in
time the way successive runs do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opsbench.clock import format_time
from opsbench.models.job import JobConfig, Variant
from opsbench.models.result import (
    ExceptionInfo,
    Outcome,
    PhaseTiming,
    Rewards,
    TrialResult,
    UsageCounters,
    VariantInfo,
)
from opsbench.paths import JobPaths

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
VARIANT = Variant(model="openai/gpt-test", reasoning_effort="low", agent="sre", n_attempts=3)


@dataclass(frozen=True)
class Attempt:
    """One trial: graded pass or fail, or another outcome (no rewards)."""

    passed: bool = True
    outcome: Outcome = Outcome.GRADED
    category: str = "alerts"
    compliance: bool | None = True
    """None: not applicable (a Harbor-format task)."""


PASS = Attempt(True)
FAIL = Attempt(False)
INFRA = Attempt(False, Outcome.INFRA_ERROR)
PROVIDER = Attempt(False, Outcome.PROVIDER_ERROR)


def grading_details(passed: bool, compliance: bool | None = True) -> dict[str, object]:
    return {
        "checks": [
            {
                "name": "site-serves-200",
                "kind": "command",
                "weight": 2.0,
                "passed": passed,
                "message": "200" if passed else "502",
                "evidence": {"stdout": "200" if passed else "502"},
            }
        ],
        "compliance": [
            {
                "name": "test-before-reload",
                "kind": "order",
                "passed": True,
                "message": "nginx -t ran before the reload",
                "evidence": [],
            }
        ],
        "rubric": [
            {
                "name": "root-cause",
                "criterion": "Names the wrong upstream port",
                "weight": 1.0,
                "verdict": "yes" if passed else "no",
                "explanation": "The summary says 8018.",
            }
        ],
        "score": {
            "reward": 1.0 if passed else 0.0,
            "task": passed,
            "compliance": compliance,
            "passed": passed,
            "partial": False,
        },
    }


TRAJECTORY = {
    "schema_version": "ATIF-v1.6",
    "agent": {"name": "sre", "version": "1"},
    "steps": [
        {"step_id": 1, "source": "user", "message": "Every request fails with 502."},
        {
            "step_id": 2,
            "source": "agent",
            "message": "Checking the upstream.",
            "tool_calls": [
                {
                    "tool_call_id": "c1",
                    "function_name": "bash",
                    "arguments": {"command": "nginx -T"},
                }
            ],
            "observation": {"results": [{"source_call_id": "c1", "content": "proxy_pass :8018"}]},
        },
    ],
}
COMMAND = {
    "index": 1,
    "time": "2026-03-01T12:00:05Z",
    "command": "nginx -T",
    "exit_code": 0,
    "stdout": "proxy_pass :8018",
}


def write_job(
    job_dir: Path,
    attempts: dict[str, list[Attempt]],
    *,
    started: datetime = T0,
    variant: Variant = VARIANT,
) -> list[TrialResult]:
    """A finished job: config.json, scenario_time.txt (= `started`) and its trials."""
    job = JobPaths(job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    config = JobConfig(job_name=job_dir.name, variant=variant, judge_model="openai/judge")
    job.config.write_text(config.model_dump_json(), encoding="utf-8")
    job.scenario_time.write_text(format_time(started) + "\n", encoding="utf-8")
    results = []
    for task_id, runs in attempts.items():
        for i, a in enumerate(runs, start=1):
            results.append(write_trial(job, task_id, i, a, started + timedelta(minutes=i), variant))
    return results


def write_trial(
    job: JobPaths, task_id: str, attempt: int, a: Attempt, start: datetime, variant: Variant
) -> TrialResult:
    paths = job.trial(task_id, attempt)
    paths.make()
    graded = a.outcome is Outcome.GRADED
    result = TrialResult(
        trial_name=paths.dir.name,
        job_name=job.name,
        task_id=task_id,
        attempt=attempt,
        task_checksum="sha256:abc",
        category=a.category,
        difficulty="easy",
        variant=VariantInfo(
            model=variant.model, reasoning_effort=variant.reasoning_effort, agent=variant.agent
        ),
        outcome=a.outcome,
        started_at=start,
        finished_at=start + timedelta(seconds=42),
        phases={"agent": PhaseTiming(started_at=start, seconds=30.0, ok=graded)},
        exception=None
        if graded
        else ExceptionInfo(type="InfraError", message="sidecar did not start", phase="provision"),
        rewards=Rewards(
            reward=float(a.passed), task=a.passed, compliance=a.compliance, passed=a.passed
        )
        if graded
        else None,
        usage=UsageCounters(calls=2, input_tokens=1000, output_tokens=100, cost_usd=0.01),
        opsbench_version="0.1.0",
    )
    if graded:
        details = grading_details(a.passed, a.compliance)
        paths.grading_details.write_text(json.dumps(details), encoding="utf-8")
    paths.instruction.write_text(
        "Every request to http://localhost/ fails with 502.", encoding="utf-8"
    )
    paths.trajectory.write_text(json.dumps(TRAJECTORY), encoding="utf-8")
    paths.commands.write_text(json.dumps(COMMAND) + "\n", encoding="utf-8")
    paths.result.write_text(result.model_dump_json(), encoding="utf-8")
    return result


def regression_history(root: Path, n_good: int = 5, n_bad: int = 5) -> list[Path]:
    """A variant that passes `nginx-502` in `n_good` jobs, then fails it in the next `n_bad`;
    `disk-full` passes throughout, and every job has an infra error that must not count."""
    dirs = []
    for i in range(n_good + n_bad):
        ok = i < n_good
        job_dir = root / f"run-{i:02d}" / VARIANT.job_name()
        write_job(
            job_dir,
            {
                "nginx-502": [PASS if ok else FAIL] * 3,
                "disk-full": [PASS, PASS, INFRA],
            },
            started=T0 + timedelta(days=i),
        )
        dirs.append(job_dir)
    return dirs
