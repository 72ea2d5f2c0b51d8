"""Time resume planning over a job with 10,000 trial dirs.

    uv run python benchmarks/plan_bench.py [--trials 10000]

Builds a synthetic job (result.json written through `TrialResult`, a realistic mix of
outcomes, some stale, corrupt or missing) and times `make_plan` (target < 2 s), cold
(first read after building) and warm. Prints figures; no pass/fail.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opsbench.models.result import (
    Outcome,
    PhaseTiming,
    Rewards,
    TrialResult,
    UsageCounters,
    VariantInfo,
)
from opsbench.paths import JobPaths, trial_name
from opsbench.plan import apply_plan, make_plan

ATTEMPTS = 5
T0 = datetime(2026, 1, 1, tzinfo=UTC)
MIX = (
    [Outcome.GRADED] * 80
    + [Outcome.AGENT_ERROR] * 5
    + [Outcome.AGENT_TIMEOUT] * 3
    + [Outcome.PROVIDER_ERROR] * 5
    + [Outcome.INFRA_ERROR] * 3
    + [Outcome.CANCELLED] * 2
)


def checksum(task_id: str) -> str:
    return f"sha256:{task_id:0>64}"[:71]


def result_json(task_id: str, attempt: int, outcome: Outcome, task_checksum: str) -> str:
    phases = {
        name: PhaseTiming(started_at=T0, finished_at=T0 + timedelta(seconds=3), seconds=3, ok=True)
        for name in ("preflight", "provision", "prepare", "agent", "verify", "restore")
    }
    graded = outcome == Outcome.GRADED
    return TrialResult(
        trial_name=trial_name(task_id, attempt),
        task_id=task_id,
        attempt=attempt,
        task_checksum=task_checksum,
        category="remediation",
        difficulty="medium",
        variant=VariantInfo(model="openai/gpt-4o-mini", reasoning_effort="off", agent="sre"),
        outcome=outcome,
        started_at=T0,
        finished_at=T0 + timedelta(minutes=2),
        phases=phases,
        rewards=Rewards(reward=0.5, task=False, compliance=True, passed=False) if graded else None,
        usage=UsageCounters(calls=12, input_tokens=40_000, output_tokens=3_000, cost_usd=0.02),
        opsbench_version="0.1.0",
    ).model_dump_json(indent=2)


def build_job(job_dir: Path, n_trials: int) -> dict[str, str]:
    """Write the job; returns the task checksums a resume would plan against."""
    n_tasks = n_trials // ATTEMPTS
    tasks = {f"task-{i:05d}": checksum(f"task-{i:05d}") for i in range(n_tasks)}
    kinds: Counter[str] = Counter()
    for n, (task_id, current) in enumerate(sorted(tasks.items())):
        for attempt in range(1, ATTEMPTS + 1):
            trial = job_dir / trial_name(task_id, attempt)
            (trial / "agent").mkdir(parents=True)
            (trial / "trial.log").write_text("...\n")
            k = n * ATTEMPTS + attempt
            if k % 97 == 0:
                kinds["missing"] += 1
                continue
            if k % 89 == 0:
                (trial / "result.json").write_text('{"outcome": "graded", "task_')
                kinds["corrupt"] += 1
                continue
            outcome = MIX[k % len(MIX)]
            recorded = "sha256:old" if k % 53 == 0 else current
            (trial / "result.json").write_text(result_json(task_id, attempt, outcome, recorded))
            kinds["stale" if recorded != current else outcome.value] += 1
    print("job mix: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    return tasks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opsbench-plan-bench-") as tmp:
        job = JobPaths(Path(tmp) / "jobs" / "openai-gpt-4o-mini-off-k5")
        start = time.perf_counter()
        tasks = build_job(job.dir, args.trials)
        print(f"built {args.trials} trial dirs in {time.perf_counter() - start:.1f} s")

        start = time.perf_counter()
        plan = make_plan(job, tasks, ATTEMPTS)
        cold = time.perf_counter() - start
        warm = []
        for _ in range(args.runs):
            start = time.perf_counter()
            make_plan(job, tasks, ATTEMPTS)
            warm.append(time.perf_counter() - start)
        print(f"plan a resume:  first {cold:.3f} s, then median {statistics.median(warm):.3f} s")
        print("                (target < 2 s)")
        print(f"plan: {plan.summary()}")

        start = time.perf_counter()
        apply_plan(job, plan)
        moved = sum(len(v) for v in plan.archive.values())
        print(f"apply (move {moved} dirs to .archive/): {time.perf_counter() - start:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
