"""Jobs end to end: set up (config, resume plan, clock), run trials, finish (summary, report).

`opsbench job` runs one `JobSetup`; `opsbench suite` runs several through the same
executor queue, so variants share one global trial limit. Setting up never touches disk
in a dry run; applying a plan archives (never deletes) what will be rerun.
"""

from __future__ import annotations

import difflib
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsbench.clock import format_time, scenario_time
from opsbench.display import Display
from opsbench.errors import OpsbenchError
from opsbench.models.job import JobConfig
from opsbench.models.result import TrialResult
from opsbench.models.trajectory import write_json_atomic
from opsbench.paths import JobPaths, ProjectPaths, SuitePaths, TaskPaths, trial_name
from opsbench.plan import Plan, apply_plan, make_plan

if TYPE_CHECKING:
    from opsbench.executor import Executor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskSelection:
    """The tasks a run will use, by id, with the checksum each trial records."""

    tasks: dict[str, TaskPaths]
    checksums: dict[str, str]


@dataclass
class JobSetup:
    config: JobConfig
    job: JobPaths
    selection: TaskSelection
    plan: Plan
    clock: datetime | None = None


def compile_and_select(
    paths: ProjectPaths, names: list[str], spec_path: Path | None, write: bool = True
) -> TaskSelection:
    """Sync tasks/ (or, with `write=False`, compile in memory only: a dry run writes
    nothing), then pick the named ones (an unknown name lists close matches)."""
    from opsbench.compile import compile_all, read_task_checksum
    from opsbench.sync import sync

    if write:
        ids = sync(paths, spec_path).tasks
        known: dict[str, str] = {}
    else:
        compiled = compile_all(paths, spec_path)
        ids = [t.task_id for t in compiled]
        known = {t.task_id: t.checksum for t in compiled}
    tasks = {t: TaskPaths(paths.tasks / t) for t in ids}
    if names:
        unknown = [n for n in names if n not in tasks]
        if unknown:
            lines = []
            for n in unknown:
                close = difflib.get_close_matches(n, tasks, n=3, cutoff=0.5)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                lines.append(f"--task-name: unknown task {n!r}{hint}")
            raise OpsbenchError("\n".join(lines))
        tasks = {n: tasks[n] for n in names}
    return TaskSelection(
        tasks, {t: known.get(t) or read_task_checksum(tp) for t, tp in tasks.items()}
    )


def check_resume(job: JobPaths, config: JobConfig) -> None:
    """Refuse to mix variants: the semantic fields of a saved job must match."""
    if not job.config.is_file():
        return
    saved = JobConfig.model_validate_json(job.config.read_text())
    diffs = config.differences(saved)
    if diffs:
        raise OpsbenchError(
            f"{job.config}: this job was run with other settings; refusing to mix them:\n  "
            + "\n  ".join(diffs)
            + "\npass a new --job-name to start a separate job"
        )


def setup_job(config: JobConfig, job: JobPaths, selection: TaskSelection) -> JobSetup:
    check_resume(job, config)
    plan = make_plan(job, selection.checksums, config.variant.n_attempts)
    return JobSetup(config, job, selection, plan)


def apply_setup(setup: JobSetup, suite: SuitePaths | None = None) -> None:
    """Write the config, archive what will rerun, fix the scenario clock (the suite's
    when the job is one of a suite's, so every variant sees the same data window)."""
    setup.job.dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(setup.job.config, setup.config.model_dump(mode="json"))
    apply_plan(setup.job, setup.plan)
    setup.clock = scenario_time(setup.job.scenario_time, suite.scenario_time if suite else None)


def show_plan(setup: JobSetup, dry_run: bool, display: Display) -> None:
    display.message(f"job {setup.job.name} ({setup.job.dir}): {setup.plan.summary()}")
    if dry_run:
        for task_id, attempt in setup.plan.run:
            display.message(f"  would run {trial_name(task_id, attempt)}")


def trial_config(setup: JobSetup, task_id: str, attempt: int) -> Any:
    from opsbench.models.trial import TrialConfig

    cfg, variant = setup.config, setup.config.variant
    assert setup.clock is not None, "apply_setup fixes the clock before trials run"
    return TrialConfig(
        job_name=cfg.job_name,
        trial_name=trial_name(task_id, attempt),
        task_id=task_id,
        attempt=attempt,
        task_dir=str(setup.selection.tasks[task_id].dir.resolve()),
        task_checksum=setup.selection.checksums[task_id],
        agent=variant.agent,
        model=variant.model,
        reasoning_effort=variant.reasoning_effort,
        agent_kwargs=cfg.agent_kwargs,
        scenario_time=setup.clock,
        seed=cfg.seed,
        override_cpus=cfg.override_cpus,
        override_memory_mb=cfg.override_memory_mb,
        agent_timeout_multiplier=cfg.agent_timeout_multiplier,
        judge_model=cfg.judge_model,
        provider_settings=cfg.provider_settings,
    )


@contextmanager
def interrupt_handling(cancel: threading.Event, display: Display) -> Iterator[None]:
    """First Ctrl-C (or SIGTERM): cancel in-flight trials and stop launching. Second: force."""
    count = {"n": 0}

    def handler(signum: int, frame: Any) -> None:
        count["n"] += 1
        if count["n"] == 1:
            display.warning("interrupt: cancelling in-flight trials (again to force)")
            cancel.set()
        else:
            raise KeyboardInterrupt

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def execute(
    setups: list[JobSetup],
    n_concurrent: int,
    pause_file: Path | None,
    display: Display,
    executor: Executor | None = None,
) -> int:
    """Run every setup's planned trials through one queue; returns the exit code.

    `executor` is where trials run (default: threads here); it is closed at the end."""
    from opsbench.executor import LocalExecutor, run_all
    from opsbench.runtime.engine import sweep_own

    runner = executor or LocalExecutor()
    items = [(i, task_id, attempt) for i, s in enumerate(setups) for task_id, attempt in s.plan.run]

    def run_one(item: tuple[int, str, int], cancel: threading.Event) -> TrialResult:
        index, task_id, attempt = item
        setup = setups[index]
        return runner.run_trial(
            trial_config(setup, task_id, attempt), setup.job.trial(task_id, attempt).dir, cancel
        )

    cancel = threading.Event()
    pause = [pause_file] if pause_file else [s.job.pause_file for s in setups]
    try:
        runner.prepare([s.job.name for s in setups])
        with interrupt_handling(cancel, display), display.run(len(items), len(setups) > 1) as tally:
            report = run_all(items, run_one, n_concurrent, cancel, pause, display)
    finally:
        runner.close()
        from opsbench.gateway.jobs import close_gateways

        for setup in setups:  # the model gateways their trials started, if any
            close_gateways(setup.job.name)
    for setup in setups:  # what an engine outage hid from every teardown
        sweep_own(setup.job.name)
    for setup in setups:
        finish_job(setup.job, display)
    display.message(f"done: {tally.summary()}")
    if report.cancelled:
        return 130
    if report.engine_unavailable:
        display.message(f"stopped with {report.not_started} trials not started; rerun to continue")
        return 75  # EX_TEMPFAIL: nothing is wrong with the job, the engine was away
    if report.paused:
        display.message(
            f"paused with {report.not_started} trials not started; "
            "remove the pause file and rerun to continue"
        )
    return 0


def finish_job(job: JobPaths, display: Display) -> None:
    """The job's result.json summary and run_report.html, from artifacts alone."""
    from opsbench.audit import audit_job
    from opsbench.metrics import load_results, summarize_job

    summary = summarize_job(load_results(job.dir), audit_job(job.dir))
    write_json_atomic(job.result, summary.model_dump(mode="json"))
    from opsbench.store.autoingest import ingest_finished  # never raises: the job is done

    ingest_finished(job.dir, display)
    try:
        from reporting.run_report import write_run_report

        display.message(f"report: {write_run_report(job.dir)}")
    except Exception as exc:  # a report must never lose a finished job
        log.warning("could not write the run report for %s: %s", job.name, exc)


def announce_clock(setup: JobSetup, display: Display) -> None:
    if setup.clock is not None:
        display.message(f"scenario clock {format_time(setup.clock)}")
