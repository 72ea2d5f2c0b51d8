"""`opsbench job`: compile, plan (resume), run, summarise one variant."""

from __future__ import annotations

import argparse
import difflib
import json
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsbench import __version__
from opsbench.errors import OpsbenchError
from opsbench.models.job import JobConfig, Variant
from opsbench.paths import JobPaths, ProjectPaths, TaskPaths, find_root


def _kwargs(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise OpsbenchError(f"--agent-kwarg: KEY=VALUE, found {pair!r}")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def build_config(args: argparse.Namespace) -> JobConfig:
    from pydantic import ValidationError

    agent = args.agent_import_path or args.agent or "sre"
    try:
        variant = Variant(
            model=args.model,
            reasoning_effort=args.reasoning_effort,
            agent=agent,
            n_attempts=args.n_attempts,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        raise OpsbenchError(
            f"--{err['loc'][0]}: {err['msg'].removeprefix('Value error, ')}"
        ) from None
    if agent == "sre" and not args.model:
        raise OpsbenchError(
            "the default agent (sre) needs a model: pass --model provider/model (e.g. "
            "openai/gpt-4o-mini, with OPENAI_API_KEY set), or --agent oracle / nop to run "
            "without one"
        )
    from opsbench.agent import resolve_agent

    resolve_agent(agent)  # unknown names fail now, listing the built-ins
    return JobConfig(
        job_name=args.job_name or variant.job_name(),
        variant=variant,
        agent_kwargs=_kwargs(args.agent_kwarg),
        override_cpus=args.override_cpus,
        override_memory_mb=args.override_memory_mb,
        agent_timeout_multiplier=args.agent_timeout_multiplier,
        judge_model=args.judge_model,
        n_concurrent=args.n_concurrent,
        task_names=list(args.task_name),
        opsbench_version=__version__,
    )


def select_tasks(
    paths: ProjectPaths, names: list[str], spec_path: Path | None
) -> dict[str, TaskPaths]:
    from opsbench.compile import sync

    report = sync(paths, spec_path)
    tasks = {t: TaskPaths(paths.tasks / t) for t in report.tasks}
    if not names:
        return tasks
    unknown = [n for n in names if n not in tasks]
    if unknown:
        lines = []
        for n in unknown:
            close = difflib.get_close_matches(n, tasks, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            lines.append(f"--task-name: unknown task {n!r}{hint}")
        raise OpsbenchError("\n".join(lines))
    return {n: tasks[n] for n in names}


def check_resume(job: JobPaths, config: JobConfig) -> None:
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


def run(args: argparse.Namespace) -> int:
    from opsbench.clock import format_time, scenario_time
    from opsbench.compile import read_task_checksum
    from opsbench.plan import apply_plan, make_plan

    paths = ProjectPaths(find_root())
    config = build_config(args)
    job = JobPaths((args.jobs_dir or paths.jobs) / config.job_name)
    check_resume(job, config)
    tasks = select_tasks(paths, list(args.task_name), args.path)
    checksums = {t: read_task_checksum(tp) for t, tp in tasks.items()}
    plan = make_plan(job, checksums, config.variant.n_attempts)
    print(f"job {job.name} ({job.dir}): {plan.summary()}")
    if args.dry_run:
        for task_id, attempt in plan.run:
            print(f"  would run {task_id}__{attempt}")
        return 0
    job.dir.mkdir(parents=True, exist_ok=True)
    from opsbench.models.trajectory import write_json_atomic

    write_json_atomic(job.config, config.model_dump(mode="json"))
    apply_plan(job, plan)
    clock = scenario_time(job.scenario_time)
    print(f"scenario clock {format_time(clock)}")
    from opsbench.runtime.docker import remove_leftovers

    remove_leftovers()
    return _execute(args, config, job, tasks, checksums, plan.run, clock)


def _execute(
    args: argparse.Namespace,
    config: JobConfig,
    job: JobPaths,
    tasks: dict[str, TaskPaths],
    checksums: dict[str, str],
    todo: list[tuple[str, int]],
    clock: datetime,
) -> int:
    from opsbench.executor import Progress, run_all
    from opsbench.models.trial import TrialConfig
    from opsbench.paths import trial_name
    from opsbench.trial.run import run_trial

    def run_one(task_id: str, attempt: int, cancel: threading.Event) -> Any:
        cfg = TrialConfig(
            job_name=config.job_name,
            trial_name=trial_name(task_id, attempt),
            task_id=task_id,
            attempt=attempt,
            task_dir=str(tasks[task_id].dir.resolve()),
            task_checksum=checksums[task_id],
            agent=config.variant.agent,
            model=config.variant.model,
            reasoning_effort=config.variant.reasoning_effort,
            agent_kwargs=config.agent_kwargs,
            scenario_time=clock,
            seed=config.seed,
            override_cpus=config.override_cpus,
            override_memory_mb=config.override_memory_mb,
            agent_timeout_multiplier=config.agent_timeout_multiplier,
            judge_model=config.judge_model,
            provider_settings=config.provider_settings,
        )
        return run_trial(cfg, job.trial(task_id, attempt).dir, cancel)

    cancel = threading.Event()
    interrupts = {"n": 0}

    def on_sigint(signum: int, frame: Any) -> None:
        interrupts["n"] += 1
        if interrupts["n"] == 1:
            print(
                "\ninterrupt: cancelling in-flight trials (Ctrl-C again to force)", file=sys.stderr
            )
            cancel.set()
        else:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    signal.signal(signal.SIGTERM, on_sigint)
    progress = Progress(len(todo), quiet=args.quiet)
    try:
        report = run_all(
            todo, run_one, config.n_concurrent, cancel, args.pause_file or job.pause_file, progress
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    finish_job(job)
    print(f"done: {progress.tally()} → {job.dir}")
    if report.cancelled:
        return 130
    if report.paused:
        print(
            f"paused with {report.not_started} trials not started; remove the pause file and rerun"
        )
    return 0


def finish_job(job: JobPaths) -> None:
    """Write the job's result.json (and its report when the reporting module is present)."""
    from opsbench.models.trajectory import write_json_atomic
    from opsbench.plan import outcome_counts

    summary: dict[str, Any] = {
        "job_name": job.name,
        "updated_at": datetime.now(UTC).isoformat(),
        "outcomes": dict(outcome_counts(job)),
    }
    write_json_atomic(job.result, summary)
