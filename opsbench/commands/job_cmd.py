"""`opsbench job`: compile, plan (resume), run and summarise one variant."""

from __future__ import annotations

import argparse

from opsbench.paths import JobPaths, ProjectPaths, find_root


def run(args: argparse.Namespace) -> int:
    from opsbench.display import make_display
    from opsbench.executor import make_executor
    from opsbench.jobconfig import build_job_config, request_from_args
    from opsbench.jobrun import (
        announce_clock,
        apply_setup,
        compile_and_select,
        execute,
        setup_job,
        show_plan,
    )

    paths = ProjectPaths(find_root())
    config = build_job_config(request_from_args(args))
    display = make_display(args.quiet)
    job = JobPaths((args.jobs_dir or paths.jobs) / config.job_name)
    selection = compile_and_select(paths, list(args.task_name), args.path, write=not args.dry_run)
    setup = setup_job(config, job, selection)
    show_plan(setup, args.dry_run, display)
    if args.dry_run:
        return 0
    executor = make_executor(args.executor, args.ray_address, paths.root)
    apply_setup(setup)
    announce_clock(setup, display)
    return execute([setup], config.n_concurrent, args.pause_file, display, executor)
