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
    from opsbench.models.suite import Suite


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from opsbench.commands.job_args import default_concurrency

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
    p.set_defaults(handler=run)


def load_suite(path: Path) -> Suite:
    import yaml
    from pydantic import ValidationError

    from opsbench.errors import SpecError, SpecIssue
    from opsbench.models.suite import Suite

    try:
        data = yaml.safe_load(path.read_text())
        return Suite.model_validate(data)
    except FileNotFoundError:
        raise OpsbenchError(f"{path}: suite file not found") from None
    except (yaml.YAMLError, ValidationError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            raise SpecError(
                [SpecIssue(str(path), ".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
            ) from None
        raise OpsbenchError(f"{path}: {exc}") from None


def suite_dir(jobs: Path, name: str, explicit: Path | None, fresh: bool) -> Path:
    if explicit is not None:
        return explicit
    existing = sorted(jobs.glob(f"suite-{name}-*")) if jobs.is_dir() else []
    if existing and not fresh:
        return existing[-1]
    return jobs / f"suite-{name}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"


@joblock.holding
def run(args: argparse.Namespace) -> int:
    from opsbench import __version__
    from opsbench.commands.job_cmd import make_variant
    from opsbench.jobrun import apply_setup, compile_and_select, execute, print_plan, setup_job
    from opsbench.models.job import JobConfig
    from opsbench.paths import JobPaths, ProjectPaths, find_root

    paths = ProjectPaths(find_root())
    suite = load_suite(args.suite or paths.suites / "standard.yaml")
    root = suite_dir(paths.jobs, suite.name, args.jobs_dir, args.no_resume)
    tasks, checksums = compile_and_select(
        paths, args.task_name or suite.task_names, None, write=not args.dry_run
    )
    if not args.dry_run:
        joblock.take(root, "suite")
    setups = []
    for model, effort, agent, kwargs in suite.expand():
        variant = make_variant(model, effort, agent, args.n_attempts or suite.n_attempts)
        name = variant.job_name()
        if args.only and not any(fnmatch.fnmatch(name, g) for g in args.only):
            continue
        if any(fnmatch.fnmatch(name, g) for g in args.skip):
            continue
        config = JobConfig(
            job_name=name,
            variant=variant,
            agent_kwargs=kwargs,
            judge_model=suite.judge_model,
            n_concurrent=args.n_concurrent,
            opsbench_version=__version__,
        )
        if not args.dry_run:
            joblock.take(root / name, "suite")
        setups.append(setup_job(config, JobPaths(root / name), tasks, checksums))
    if not setups:
        raise OpsbenchError("no variant left after --only/--skip")
    print(f"suite {suite.name}: {root} · {len(setups)} variants")
    for setup in setups:
        print_plan(setup, args.dry_run)
    if args.dry_run:
        return 0
    root.mkdir(parents=True, exist_ok=True)
    for setup in setups:
        apply_setup(setup, suite_clock=root / "scenario_time.txt")
    code = execute(setups, args.n_concurrent, None, args.quiet)
    _comparison(root)
    return code


def _comparison(root: Path) -> None:
    try:
        from reporting.comparison import write_comparison
    except ImportError:
        return
    try:
        print(f"comparison: {write_comparison(root)}")
    except Exception as exc:  # a report must never lose finished work
        print(f"could not write comparison.html: {exc}")
