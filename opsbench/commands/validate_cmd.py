"""`opsbench validate`: calibrate tasks — oracle must score 1 on both gates, nop 0 on the task gate.

Runs both agents once per task as two ordinary jobs under `jobs/validate/` (resumable like
any job: rerunning only re-checks what changed), prints a table, and exits 1 when any task
is miscalibrated or could not be run.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser is built on every command: keep it light
    from opsbench.models.result import TrialResult


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from opsbench.commands.job_args import add_executor_arguments, default_concurrency

    p = sub.add_parser("validate", help="calibrate tasks: oracle must pass, nop must fail")
    p.add_argument("--task-name", action="append", default=[], help="only these (repeatable)")
    p.add_argument("--path", type=Path, help="another spec directory or spec file")
    p.add_argument("--jobs-dir", type=Path, help="default: jobs/validate")
    p.add_argument("--n-concurrent", type=int, default=default_concurrency())
    add_executor_arguments(p)
    p.set_defaults(handler=run)


def calibration_verdict(agent: str, result: TrialResult | None) -> tuple[bool, str]:
    from opsbench.models.result import Outcome

    if result is None:
        return False, "not run"
    if result.outcome != Outcome.GRADED or result.rewards is None:
        why = result.exception.message[:80] if result.exception else ""
        return False, f"{result.outcome.value} {why}".strip()
    r = result.rewards
    text = (
        f"reward {r.reward:.2f} task {'✓' if r.task else '✗'} rules {'✓' if r.compliance else '✗'}"
    )
    if agent == "oracle":
        return r.reward >= 1.0 and r.task and r.compliance, text
    return not r.task, text


def run(args: argparse.Namespace) -> int:
    from opsbench.display import QuietDisplay
    from opsbench.executor import make_executor
    from opsbench.jobconfig import build_job_config
    from opsbench.jobrun import apply_setup, compile_and_select, execute, setup_job
    from opsbench.models.job import JobRequest
    from opsbench.paths import ProjectPaths, SuitePaths, find_root
    from opsbench.results import read_result

    paths = ProjectPaths(find_root())
    root = SuitePaths(args.jobs_dir or paths.jobs / "validate")
    selection = compile_and_select(paths, list(args.task_name), args.path)
    display = QuietDisplay()
    executor = make_executor(args.executor, args.ray_address, paths.root)
    setups = []
    for agent in ("oracle", "nop"):
        request = JobRequest(
            agent=agent, n_attempts=1, job_name=agent, n_concurrent=args.n_concurrent
        )
        setup = setup_job(build_job_config(request), root.job(agent), selection)
        apply_setup(setup, suite=root)
        setups.append(setup)
    code = execute(setups, args.n_concurrent, None, display, executor)
    if code:
        return code
    failures = 0
    display.message(f"\n{'task':44} {'oracle (must pass)':38} nop (task gate must fail)")
    for task_id in sorted(selection.tasks):
        row = []
        for setup in setups:
            result = read_result(setup.job.trial(task_id, 1)).result
            ok, text = calibration_verdict(setup.config.variant.agent, result)
            failures += not ok
            row.append(f"{'ok ' if ok else 'BAD'} {text}")
        display.message(f"{task_id:44} {row[0]:38} {row[1]}")
    display.message(f"\n{len(selection.tasks)} tasks · {failures} calibration failures")
    return 1 if failures else 0
