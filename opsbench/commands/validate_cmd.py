"""`opsbench validate`: calibrate tasks — oracle must score 1 on both gates, nop 0.

Runs the oracle (`--oracle-attempts`, 3 by default: a flaky task fails one of them) and
nop once per task, as two ordinary jobs under `jobs/validate/` (resumable like any job:
rerunning only re-checks what changed), prints a table, and exits 1 when any task is
miscalibrated or could not be run. nop must fail the task gate and earn reward 0: the
untouched environment may pass only do-no-harm checks, which earn nothing alone.

Then the red team (`opsbench.redteam`): every exploit on every task it applies to, one job
per exploit beside them; it prints the hackable task × exploit table and exits 1 when any
task is hackable. `--no-redteam` calibrates only; `--exploit NAME` runs only those.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from opsbench import joblock
from opsbench.paths import ProjectPaths

if TYPE_CHECKING:  # the parser is built on every command: keep it light
    from opsbench.display import Display
    from opsbench.jobrun import JobSetup
    from opsbench.models.result import TrialResult
    from opsbench.paths import SuitePaths


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from opsbench.commands.job_args import add_executor_arguments, default_concurrency

    p = sub.add_parser("validate", help="calibrate tasks: oracle must pass, nop must fail")
    p.add_argument("--task-name", action="append", default=[], help="only these (repeatable)")
    p.add_argument("--path", type=Path, help="another spec directory or spec file")
    p.add_argument("--jobs-dir", type=Path, help="default: jobs/validate")
    p.add_argument("--n-concurrent", type=int, default=default_concurrency())
    p.add_argument(
        "--under",
        choices=["opsbench", "harbor"],
        default="opsbench",
        help="harbor: run the tasks with Harbor's own `harbor run` (its Docker environment)",
    )
    p.add_argument("--harbor", help="the harbor executable (env OPSBENCH_HARBOR; Python 3.12+)")
    p.add_argument(
        "--oracle-attempts",
        type=int,
        default=3,
        help="oracle attempts per task, every one must pass (default 3)",
    )
    p.add_argument(
        "--representative",
        action="store_true",
        help="with --under harbor: one task per category and per sidecar kind (what CI runs)",
    )
    p.add_argument("--no-redteam", action="store_true", help="calibrate only, no exploits")
    p.add_argument(
        "--redteam-representative",
        action="store_true",
        help="the red team on one task per category and per sidecar kind only (what CI "
        "affords); calibration still covers every task",
    )
    p.add_argument(
        "--exploit", action="append", default=[], help="only this red-team exploit (repeatable)"
    )
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
    rules = "n/a" if r.compliance is None else "✓" if r.compliance else "✗"
    text = f"reward {r.reward:.2f} task {'✓' if r.task else '✗'} rules {rules}"
    if agent == "oracle":
        return r.reward >= 1.0 and r.task and r.compliance is not False, text
    return not r.task and r.reward == 0.0, text


@joblock.holding
def run(args: argparse.Namespace) -> int:
    from opsbench import redteam
    from opsbench.display import QuietDisplay
    from opsbench.executor import opened_executor
    from opsbench.jobconfig import build_job_config
    from opsbench.jobrun import TaskSelection, apply_setup, compile_and_select, execute, setup_job
    from opsbench.models.job import JobRequest
    from opsbench.paths import ProjectPaths, SuitePaths, find_root

    paths = ProjectPaths(find_root())
    if args.under == "harbor":
        return run_under_harbor(args, paths)
    root = SuitePaths(args.jobs_dir or paths.jobs / "validate")
    exploits = () if args.no_redteam else redteam.select(args.exploit)
    with opened_executor(args.executor, args.ray_address, paths.root) as executor:
        selection = compile_and_select(paths, list(args.task_name), args.path)
        display = QuietDisplay()
        joblock.take(root.dir, "validate")
        setups = []
        tasks = selection.tasks
        attacked = tasks
        if args.redteam_representative:
            from opsbench.harbor_run import representative

            attacked = {t: tasks[t] for t in representative(tasks)}
            display.message(
                f"red team on {len(attacked)} representative tasks: {', '.join(attacked)}"
            )
        for agent, subset in [("oracle", tasks), ("nop", tasks)] + [
            (e.name, redteam.applicable(e, attacked)) for e in exploits
        ]:
            attempts = args.oracle_attempts if agent == "oracle" else 1
            request = JobRequest(
                agent=agent, n_attempts=attempts, job_name=agent, n_concurrent=args.n_concurrent
            )
            chosen = TaskSelection(subset, {t: selection.checksums[t] for t in subset})
            joblock.take(root.job(agent).dir, "validate")
            setup = setup_job(build_job_config(request), root.job(agent), chosen)
            apply_setup(setup, suite=root)
            setups.append(setup)
        code = execute(setups, args.n_concurrent, None, display, executor)
    if code:
        return code
    failures = 0
    calibration, attacks = setups[:2], setups[2:]
    display.message(f"\n{'task':44} {'oracle (must pass)':38} nop (task gate must fail)")
    for task_id in sorted(tasks):
        row = []
        for setup in calibration:
            n = args.oracle_attempts if setup.config.variant.agent == "oracle" else 1
            ok, text = task_verdict(setup, task_id, n)
            failures += not ok
            row.append(f"{'ok ' if ok else 'BAD'} {text}")
        display.message(f"{task_id:44} {row[0]:38} {row[1]}")
    categories = {redteam.read_spec(t)["category"] for t in tasks.values()}
    display.message(
        f"\n{len(tasks)} tasks · {len(categories)} categories · {failures} calibration failures"
    )
    hackable = redteam_table(root, calibration[1], attacks, display) if attacks else 0
    return 1 if failures or hackable else 0


def task_verdict(setup: JobSetup, task_id: str, n: int) -> tuple[bool, str]:
    """One agent's verdict on one task over all its attempts: the first attempt that
    fails calibration speaks for the task (with `k/n` when it was not the only one)."""
    from opsbench.results import read_result

    verdicts = [
        calibration_verdict(
            setup.config.variant.agent, read_result(setup.job.trial(task_id, a)).result
        )
        for a in range(1, n + 1)
    ]
    bad = [text for ok, text in verdicts if not ok]
    if not bad:
        return True, verdicts[0][1] + (f" ×{n}" if n > 1 else "")
    return False, bad[0] + (f" ({n - len(bad)}/{n} ok)" if n > 1 else "")


def redteam_table(
    root: SuitePaths, nop: JobSetup, attacks: list[JobSetup], display: Display
) -> int:
    """Judge the exploit jobs against nop, print the table, save redteam.json."""
    from opsbench import redteam

    report = redteam.assess(
        {
            (task_id, s.config.variant.agent): s.job.trial(task_id, 1)
            for s in attacks
            for task_id in s.selection.tasks
        },
        {task_id: nop.job.trial(task_id, 1) for task_id in nop.selection.tasks},
    )
    redteam.write_report(report, root.dir / "redteam.json")
    display.message("\nred team (a task is hackable when an exploit passes its task gate, or a")
    display.message("faking exploit earns a check nop does not):\n")
    display.message("\n".join(redteam.table(report)))
    return len(report.hackable_tasks)


def run_under_harbor(args: argparse.Namespace, paths: ProjectPaths) -> int:
    """Harbor's own `harbor run` over test-only copies (network mode made public)."""
    from opsbench.display import QuietDisplay
    from opsbench.harbor_run import (
        AGENTS,
        check_compose,
        find_harbor,
        network_copy,
        representative,
        run_harbor,
    )
    from opsbench.jobrun import TaskSelection, compile_and_select

    harbor = find_harbor(args.harbor)
    check_compose()
    selection = compile_and_select(paths, list(args.task_name), args.path)
    if args.representative:
        chosen = representative(selection.tasks)
        selection = TaskSelection(
            {t: selection.tasks[t] for t in chosen}, {t: selection.checksums[t] for t in chosen}
        )
    out = args.jobs_dir or paths.jobs / "validate-harbor"
    copies = out / "tasks"
    if copies.exists():
        shutil.rmtree(copies)
    for task_id, task in sorted(selection.tasks.items()):
        network_copy(task, copies / task_id)
    display = QuietDisplay()
    display.message(f"harbor run over {len(selection.tasks)} task copies in {copies}")
    started = time.monotonic()
    found = run_harbor(harbor, copies, out, args.n_concurrent)
    wall = time.monotonic() - started
    verdicts = {agent: {v.task_id: v for v in found if v.agent == agent} for agent in AGENTS}
    failures = 0
    display.message(f"\n{'task':32} {'oracle under harbor':34} nop under harbor")
    for task_id in sorted(selection.tasks):
        row = []
        for agent in AGENTS:
            verdict = verdicts[agent].get(task_id)
            ok = verdict is not None and verdict.ok
            failures += not ok
            row.append(f"{'ok ' if ok else 'BAD'} {verdict.text() if verdict else 'not run'}")
        display.message(f"{task_id:32} {row[0][:34]:34} {row[1][:60]}")
    display.message(f"\n{len(selection.tasks)} tasks · {failures} failures under harbor")
    display.message(f"harbor run: {wall:.0f} s wall, --n-concurrent {args.n_concurrent}")
    for agent in AGENTS:
        trials = [v.seconds for v in verdicts[agent].values()]
        mean = sum(trials) / len(trials) if trials else 0.0
        display.message(f"  {agent}: {len(trials)} trials, {mean:.0f} s per trial on average")
    return 1 if failures else 0
