"""`opsbench regrade`: grade saved trials again (new judge, filled-in rubric, new grader)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from opsbench import joblock


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("regrade", help="re-grade saved trials without rerunning agents")
    p.add_argument("--jobs-dir", type=Path, required=True, help="a job dir, or a suite/jobs dir")
    p.add_argument("--job-name", help="one job inside --jobs-dir (unknown names are an error)")
    p.add_argument("--task-name", action="append", default=[], help="only these tasks")
    p.add_argument(
        "--judge-model",
        default=os.environ.get("OPSBENCH_JUDGE_MODEL"),
        help="judge for rubric criteria (default: the job's; env OPSBENCH_JUDGE_MODEL)",
    )
    p.add_argument("--wait", type=float, default=0.0, help="seconds to wait for a running job")
    p.set_defaults(handler=run)


@joblock.holding
def run(args: argparse.Namespace) -> int:
    from opsbench.display import Display
    from opsbench.jobrun import finish_job
    from opsbench.regrade import RegradeReport, find_jobs, regrade_job

    display = Display()
    report = RegradeReport()
    jobs = find_jobs(args.jobs_dir, args.job_name)
    for job in jobs:
        joblock.take(job.dir, "regrade", wait=args.wait)
        regrade_job(job, list(args.task_name), args.judge_model, report)
        finish_job(job, display)
    for name, why in sorted(report.skipped.items()):
        display.message(f"skipped {name}: {why}")
    display.message(
        f"regraded {len(report.regraded)} trials in {len(jobs)} jobs; "
        f"{len(report.changed)} changed their rewards"
    )
    return 0
