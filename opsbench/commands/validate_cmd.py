"""`opsbench validate`: calibrate tasks — oracle must score 1 on both gates, nop 0 on the task gate.

Runs both agents once per task as two ordinary jobs under `jobs/validate/` (resumable like
any job: rerunning only re-checks what changed), prints a table, and exits 1 when any task
is miscalibrated or could not be run.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from opsbench import joblock

if TYPE_CHECKING:  # the parser is built on every command: keep it light
    from opsbench.models.result import TrialResult


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from opsbench.commands.job_args import default_concurrency

    p = sub.add_parser("validate", help="calibrate tasks: oracle must pass, nop must fail")
    p.add_argument("--task-name", action="append", default=[], help="only these (repeatable)")
    p.add_argument("--path", type=Path, help="another spec directory or spec file")
    p.add_argument("--jobs-dir", type=Path, help="default: jobs/validate")
    p.add_argument("--n-concurrent", type=int, default=default_concurrency())
    p.set_defaults(handler=run)


def verdict(agent: str, result: TrialResult | None) -> tuple[bool, str]:
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


@joblock.holding
def run(args: argparse.Namespace) -> int:
    from opsbench import __version__
    from opsbench.jobrun import apply_setup, compile_and_select, execute, setup_job
    from opsbench.models.job import JobConfig, Variant
    from opsbench.models.result import TrialResult
    from opsbench.paths import JobPaths, ProjectPaths, find_root

    paths = ProjectPaths(find_root())
    root = args.jobs_dir or paths.jobs / "validate"
    tasks, checksums = compile_and_select(paths, list(args.task_name), args.path)
    joblock.take(root, "validate")
    setups = []
    for agent in ("oracle", "nop"):
        config = JobConfig(
            job_name=agent,
            variant=Variant(agent=agent, n_attempts=1),
            n_concurrent=args.n_concurrent,
            opsbench_version=__version__,
        )
        joblock.take(root / agent, "validate")
        setup = setup_job(config, JobPaths(root / agent), tasks, checksums)
        apply_setup(setup, suite_clock=root / "scenario_time.txt")
        setups.append(setup)
    code = execute(setups, args.n_concurrent, None, quiet=True)
    if code:
        return code
    failures = 0
    print(f"\n{'task':44} {'oracle (must pass)':38} nop (task gate must fail)")
    for task_id in sorted(tasks):
        row = []
        for setup in setups:
            trial = setup.job.trial(task_id, 1)
            try:
                result = TrialResult.model_validate_json(trial.result.read_text())
            except (OSError, ValueError):
                result = None
            ok, text = verdict(setup.config.variant.agent, result)
            failures += not ok
            row.append(f"{'ok ' if ok else 'BAD'} {text}")
        print(f"{task_id:44} {row[0]:38} {row[1]}")
    print(f"\n{len(tasks)} tasks · {failures} calibration failures")
    return 1 if failures else 0
