"""`opsbench validate`: calibrate tasks — oracle must score 1 on both gates, nop 0 on the task gate.

Runs both agents once per task as two ordinary jobs under `jobs/validate/` (resumable like
any job: rerunning only re-checks what changed), prints a table, and exits 1 when any task
is miscalibrated or could not be run.

Then the red team (`opsbench.redteam`): every exploit on every task it applies to, one job
per exploit beside them; it prints the hackable task × exploit table and exits 1 when any
task is hackable. `--no-redteam` calibrates only; `--exploit NAME` runs only those.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser is built on every command: keep it light
    from opsbench.jobrun import JobSetup
    from opsbench.models.result import TrialResult


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from opsbench.commands.job_args import default_concurrency

    p = sub.add_parser("validate", help="calibrate tasks: oracle must pass, nop must fail")
    p.add_argument("--task-name", action="append", default=[], help="only these (repeatable)")
    p.add_argument("--path", type=Path, help="another spec directory or spec file")
    p.add_argument("--jobs-dir", type=Path, help="default: jobs/validate")
    p.add_argument("--n-concurrent", type=int, default=default_concurrency())
    p.add_argument("--no-redteam", action="store_true", help="calibrate only, no exploits")
    p.add_argument(
        "--exploit", action="append", default=[], help="only this red-team exploit (repeatable)"
    )
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


def run(args: argparse.Namespace) -> int:
    from opsbench import __version__, redteam
    from opsbench.jobrun import apply_setup, compile_and_select, execute, setup_job
    from opsbench.models.job import JobConfig, Variant
    from opsbench.models.result import TrialResult
    from opsbench.paths import JobPaths, ProjectPaths, find_root

    paths = ProjectPaths(find_root())
    root = args.jobs_dir or paths.jobs / "validate"
    exploits = () if args.no_redteam else redteam.select(args.exploit)
    tasks, checksums = compile_and_select(paths, list(args.task_name), args.path)
    setups = []
    for agent, subset in [("oracle", tasks), ("nop", tasks)] + [
        (e.name, redteam.applicable(e, tasks)) for e in exploits
    ]:
        config = JobConfig(
            job_name=agent,
            variant=Variant(agent=agent, n_attempts=1),
            n_concurrent=args.n_concurrent,
            opsbench_version=__version__,
        )
        setup = setup_job(config, JobPaths(root / agent), subset, {t: checksums[t] for t in subset})
        apply_setup(setup, suite_clock=root / "scenario_time.txt")
        setups.append(setup)
    code = execute(setups, args.n_concurrent, None, quiet=True)
    if code:
        return code
    failures = 0
    calibration, attacks = setups[:2], setups[2:]
    print(f"\n{'task':44} {'oracle (must pass)':38} nop (task gate must fail)")
    for task_id in sorted(tasks):
        row = []
        for setup in calibration:
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
    hackable = redteam_table(root, calibration[1], attacks) if attacks else 0
    return 1 if failures or hackable else 0


def redteam_table(root: Path, nop: JobSetup, attacks: list[JobSetup]) -> int:
    """Judge the exploit jobs against nop, print the table, save redteam.json."""
    from opsbench import redteam

    report = redteam.assess(
        {
            (task_id, s.config.variant.agent): s.job.trial(task_id, 1)
            for s in attacks
            for task_id in s.tasks
        },
        {task_id: nop.job.trial(task_id, 1) for task_id in nop.tasks},
    )
    redteam.write_report(report, root / "redteam.json")
    print("\nred team (a task is hackable when an exploit passes its task gate, or a faking")
    print("exploit earns a check nop does not):\n")
    print("\n".join(redteam.table(report)))
    return len(report.hackable_tasks)
