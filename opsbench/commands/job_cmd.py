"""`opsbench job`: compile, plan (resume), run and summarise one variant."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from opsbench import harbor_task, joblock
from opsbench.paths import JobPaths, ProjectPaths, find_root


@joblock.holding
def run(args: argparse.Namespace) -> int:
    from opsbench.display import make_display
    from opsbench.executor import opened_executor
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
    with opened_executor(args.executor, args.ray_address, paths.root, args.dry_run) as executor:
        if harbor_task.is_harbor_path(args.path):
            selection = harbor_selection(args, job)
        else:
            selection = compile_and_select(
                paths, list(args.task_name), args.path, write=not args.dry_run
            )
        if not args.dry_run:
            joblock.take(job.dir, "job")  # before planning: another run may be mid-trial
        setup = setup_job(config, job, selection)
        show_plan(setup, args.dry_run, display)
        if executor is None:
            return 0
        apply_setup(setup)
        announce_clock(setup, display)
        return execute([setup], config.n_concurrent, args.pause_file, display, executor)


def harbor_selection(args: argparse.Namespace, job: JobPaths) -> Any:
    """Harbor tasks under `--path`, materialized into the job (not in a dry run)."""
    from opsbench.jobrun import TaskSelection

    files = list(args.image_map_file)
    if not files and os.environ.get("OPSBENCH_IMAGE_MAP_FILE"):
        files.append(Path(os.environ["OPSBENCH_IMAGE_MAP_FILE"]))
    image_map = harbor_task.parse_image_map(list(args.image_map), files)
    into = None if args.dry_run else job.harbor_tasks
    found = harbor_task.select(args.path, list(args.task_name), image_map, into)
    return TaskSelection(found.tasks, found.checksums)
