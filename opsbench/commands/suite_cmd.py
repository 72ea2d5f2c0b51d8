"""`opsbench suite`: a matrix of variants, one job each, inside one suite directory.

The suite dir (`jobs/suite-<name>-<timestamp>/`) holds one job per variant, a shared
`scenario_time.txt` and `comparison.html`. Rerunning resumes the latest suite dir of that
name; `--no-resume` starts a fresh one. All variants' trials share one global limit.
"""

from __future__ import annotations

import argparse
import fnmatch
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from opsbench import joblock
from opsbench.errors import OpsbenchError

if TYPE_CHECKING:  # the parser is built on every command: keep it light
    from opsbench.display import Display
    from opsbench.models.suite import Suite
    from opsbench.paths import SuitePaths


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from opsbench.commands.job_args import add_executor_arguments, default_concurrency

    p = sub.add_parser("suite", help="run a matrix of variants (one job each), resumable")
    p.add_argument("--suite", type=Path, help="suite file (default suites/standard.yaml)")
    p.add_argument("--jobs-dir", type=Path, help="a suite dir to use (default: latest of its name)")
    p.add_argument("--no-resume", action="store_true", help="start a fresh suite dir")
    p.add_argument(
        "--only", action="append", default=[], metavar="GLOB", help="only these job names"
    )
    p.add_argument(
        "--skip", action="append", default=[], metavar="GLOB", help="skip these job names"
    )
    p.add_argument("--task-name", action="append", default=[])
    p.add_argument("--n-attempts", type=int, help="override the suite's attempts")
    p.add_argument(
        "--n-concurrent", type=int, default=default_concurrency(), help="global trial limit"
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print every variant's plan, touch nothing"
    )
    p.add_argument("--quiet", action="store_true")
    add_executor_arguments(p)
    p.set_defaults(handler=run)


def load_suite(path: Path) -> Suite:
    """The suite file, validated once; every error names file and field."""
    import yaml
    from pydantic import ValidationError

    from opsbench.errors import SpecError
    from opsbench.models.suite import Suite
    from opsbench.validation import validation_issues

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OpsbenchError(f"{path}: suite file not found") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise OpsbenchError(f"{path}: {exc}") from None
    try:
        return Suite.model_validate(data)
    except ValidationError as exc:
        raise SpecError(validation_issues(exc, str(path), data, Suite)) from None


def suite_paths(jobs: Path, name: str, explicit: Path | None, fresh: bool) -> SuitePaths:
    from opsbench.paths import SuitePaths

    if explicit is not None:
        return SuitePaths(explicit)
    latest = None if fresh else SuitePaths.latest(jobs, name)
    return latest or SuitePaths.for_suite(jobs, name, datetime.now(UTC))


def selected(name: str, only: list[str], skip: list[str]) -> bool:
    if only and not any(fnmatch.fnmatch(name, g) for g in only):
        return False
    return not any(fnmatch.fnmatch(name, g) for g in skip)


@joblock.holding
def run(args: argparse.Namespace) -> int:
    from opsbench.display import make_display
    from opsbench.executor import opened_executor
    from opsbench.jobconfig import build_job_config
    from opsbench.jobrun import apply_setup, compile_and_select, execute, setup_job, show_plan
    from opsbench.paths import ProjectPaths, find_root

    paths = ProjectPaths(find_root())
    suite_file = args.suite or paths.suites / "standard.yaml"
    suite = load_suite(suite_file)
    root = suite_paths(paths.jobs, suite.name, args.jobs_dir, args.no_resume)
    display = make_display(args.quiet)
    configs = []
    for i, request in enumerate(suite.requests()):
        if args.n_attempts:
            request = request.model_copy(update={"n_attempts": args.n_attempts})
        request = request.model_copy(update={"n_concurrent": args.n_concurrent})
        config = build_job_config(request, f"{suite_file}: variants[{i}]")
        if selected(config.job_name, args.only, args.skip):
            configs.append(config)
    if not configs:
        raise OpsbenchError("no variant left after --only/--skip")
    with opened_executor(args.executor, args.ray_address, paths.root, args.dry_run) as executor:
        selection = compile_and_select(
            paths, args.task_name or suite.task_names, None, write=not args.dry_run
        )
        if not args.dry_run:  # before planning: another run may be mid-trial
            for path in [root.dir, *(root.job(c.job_name).dir for c in configs)]:
                joblock.take(path, "suite")
        setups = [setup_job(c, root.job(c.job_name), selection) for c in configs]
        display.message(f"suite {suite.name}: {root.dir} · {len(setups)} variants")
        for setup in setups:
            show_plan(setup, args.dry_run, display)
        if executor is None:
            return 0
        root.dir.mkdir(parents=True, exist_ok=True)
        for setup in setups:
            apply_setup(setup, suite=root)
        code = execute(setups, args.n_concurrent, None, display, executor)
    _comparison(root, display)
    return code


def _comparison(root: SuitePaths, display: Display) -> None:
    try:
        from reporting.comparison import write_comparison
    except ImportError:
        return
    try:
        display.message(f"comparison: {write_comparison(root.dir)}")
    except Exception as exc:  # a report must never lose finished work
        display.warning(f"could not write comparison.html: {exc}")
