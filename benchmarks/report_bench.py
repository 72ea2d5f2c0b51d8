"""Render-time benchmark for the run report: a synthetic job of 10,000 trials.

    uv run python benchmarks/report_bench.py [--trials 10000] [--attempts 5] [--keep DIR]

Writes the job through the real models (result.json, trajectory, commands, grading
details), then times `write_run_report` and prints the time and file size. Targets:
under 5 s and under 10 MB. Timing is printed here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from opsbench.metrics import summarize_job  # noqa: E402
from opsbench.models.result import (  # noqa: E402
    ExceptionInfo,
    Outcome,
    PhaseTiming,
    Rewards,
    TrialResult,
    UsageCounters,
    VariantInfo,
)
from opsbench.paths import JobPaths  # noqa: E402
from reporting.collect import PendingDetails  # noqa: E402
from reporting.load import load_job  # noqa: E402
from reporting.render import render  # noqa: E402
from reporting.run_report import run_report_context, write_run_report  # noqa: E402

CATEGORIES = ("alerts", "logs", "traces", "kubernetes", "capacity", "dns", "tls", "databases")
DIFFICULTIES = ("easy", "medium", "hard")
OUTCOMES = list(Outcome)
OUTCOME_WEIGHTS = (86, 4, 3, 4, 2, 1)
T0 = datetime(2026, 3, 1, tzinfo=UTC)
LOREM = (
    'level=error ts=2026-03-01T11:58:02Z caller=pool.go:212 msg="connection pool exhausted" '
    "in_use=50 waiting=231 service=checkout pod=checkout-7d9f8c6b5-x2k4q\n"
)


def write_trial(job: JobPaths, rng: random.Random, task: int, attempt: int) -> None:
    task_id = f"task-{task:04d}"
    paths = job.trial(task_id, attempt)
    paths.make()
    outcome = rng.choices(OUTCOMES, OUTCOME_WEIGHTS)[0]
    graded = outcome is Outcome.GRADED
    ok, comply = rng.random() < 0.45, rng.random() < 0.9
    started = T0 + timedelta(seconds=task * 40 + attempt)
    seconds = rng.uniform(20, 600)
    result = TrialResult(
        trial_name=paths.dir.name,
        task_id=task_id,
        attempt=attempt,
        task_checksum="sha256:0",
        category=CATEGORIES[task % len(CATEGORIES)],
        difficulty=DIFFICULTIES[task % len(DIFFICULTIES)],
        variant=VariantInfo(model="openai/gpt-bench", reasoning_effort="low", agent="sre"),
        outcome=outcome,
        started_at=started,
        finished_at=started + timedelta(seconds=seconds),
        phases={"agent": PhaseTiming(started_at=started, seconds=seconds * 0.9, ok=graded)},
        exception=None
        if graded
        else ExceptionInfo(type="ProviderError", message="rate limited", phase="agent"),
        rewards=Rewards(
            reward=1.0 if ok else rng.choice((0.0, 0.25, 0.5, 0.75)),
            task=ok,
            compliance=comply,
            passed=ok and comply,
        )
        if graded
        else None,
        usage=UsageCounters(
            calls=8,
            input_tokens=rng.randint(5_000, 120_000),
            output_tokens=rng.randint(300, 6_000),
            cost_usd=rng.uniform(0.001, 0.08),
        ),
        opsbench_version="0.1.0",
    )
    paths.instruction.write_text(f"Investigate the alert for {task_id}.\n" * 20, encoding="utf-8")
    steps = [{"step_id": 1, "source": "user", "message": "Investigate."}]
    commands = []
    for i in range(2, 10):
        cmd = f"curl -s 'http://o11y:9090/api/v1/query?query=rate(http_errors_total[{i}m])'"
        steps.append(
            {
                "step_id": i,
                "source": "agent",
                "message": "Looking at the error rate over a wider window.",
                "reasoning_content": "The p99 latency moved first; errors followed. " * 4,
                "tool_calls": [
                    {
                        "tool_call_id": f"c{i}",
                        "function_name": "bash",
                        "arguments": {"command": cmd},
                    }
                ],
                "observation": {"results": [{"source_call_id": f"c{i}", "content": LOREM * 12}]},
            }
        )
        commands.append(
            {
                "index": i - 1,
                "time": "2026-03-01T12:00:00Z",
                "command": cmd,
                "user": "agent",
                "exit_code": 0,
                "stdout": LOREM * 12,
                "stderr": "",
            }
        )
    paths.trajectory.write_text(
        json.dumps(
            {
                "schema_version": "ATIF-v1.6",
                "agent": {"name": "sre", "version": "1"},
                "steps": steps,
            }
        ),
        encoding="utf-8",
    )
    paths.commands.write_text("".join(json.dumps(c) + "\n" for c in commands), encoding="utf-8")
    if graded:
        details = {
            "checks": [
                {
                    "name": f"check-{j}",
                    "kind": "promql",
                    "weight": 1.0,
                    "passed": ok,
                    "message": "value 0.02 < 0.05",
                    "evidence": {"value": 0.02},
                }
                for j in range(4)
            ],
            "compliance": [
                {
                    "name": "no-restart",
                    "kind": "forbidden_command",
                    "passed": comply,
                    "message": "ok" if comply else "restarted the database",
                    "evidence": [],
                }
            ],
            "rubric": [
                {
                    "name": "root-cause",
                    "criterion": "Names pool exhaustion",
                    "weight": 1.0,
                    "verdict": "yes" if ok else "no",
                    "explanation": "The summary names it.",
                    "fact": "pool",
                }
            ],
            "score": result.rewards.model_dump() if result.rewards else {},
        }
        paths.grading_details.write_text(json.dumps(details), encoding="utf-8")
    paths.result.write_text(result.model_dump_json(), encoding="utf-8")


def build_job(job_dir: Path, trials: int, attempts: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    job = JobPaths(job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    job.config.write_text(
        json.dumps(
            {
                "model": "openai/gpt-bench",
                "reasoning_effort": "low",
                "agent": "sre",
                "n_attempts": attempts,
                "judge_model": "openai/judge",
            }
        ),
        encoding="utf-8",
    )
    job.scenario_time.write_text("2026-03-01T12:00:00Z\n", encoding="utf-8")
    for n in range(trials):
        write_trial(job, rng, n // attempts, n % attempts + 1)


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the report's workers)."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def phases(job_dir: Path) -> None:
    """The serial cost of each phase, for finding what to optimise."""
    t = time.perf_counter()
    job = load_job(job_dir)
    loaded = time.perf_counter()
    summary = summarize_job(job.results)
    summarized = time.perf_counter()
    details = PendingDetails(job.trials, workers=1).result()
    collected = time.perf_counter()
    html = render("run_report.html.j2", **run_report_context(job, summary, details))
    rendered = time.perf_counter()
    print(
        f"  serial phases: load {loaded - t:.2f}s · metrics {summarized - loaded:.2f}s · "
        f"drill-down data {collected - summarized:.2f}s · render {rendered - collected:.2f}s "
        f"({len(html) / 1e6:.2f} MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--attempts", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build the job here (or reuse it) and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opsbench-report-bench-") as tmp:
        job_dir = args.keep or Path(tmp) / "bench-job"
        if not JobPaths(job_dir).config.is_file():
            t = time.perf_counter()
            build_job(job_dir, args.trials, args.attempts)
            print(f"built {args.trials} trials in {time.perf_counter() - t:.1f}s")
        cpu, t = cpu_seconds(), time.perf_counter()
        report = write_run_report(job_dir)
        elapsed, cpu = time.perf_counter() - t, cpu_seconds() - cpu
        size = report.stat().st_size
        print(f"trials: {len(JobPaths(job_dir).trial_dirs())} · cores: {os.cpu_count()}")
        print(f"render: {elapsed:.2f}s wall, {cpu:.2f}s CPU (target < 5 s)")
        print(f"size:   {size / 1e6:.2f} MB (target < 10 MB)")
        phases(job_dir)


if __name__ == "__main__":
    main()
