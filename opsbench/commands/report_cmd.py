"""`opsbench report` and `opsbench compare`: rebuild HTML reports from artifacts alone.

`report --job-dir DIR` (repeatable) writes each job's `run_report.html`; `report
--jobs-dir SUITE` does so for every job in a suite directory and, when it holds several,
writes `SUITE/comparison.html`. `compare --job-dir A --job-dir B [--out FILE]` writes a
comparison of any jobs (by default `comparison-A+B.html` in their common parent, never the
suite's own page). No command replaces a page made from other inputs without `--force`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from opsbench import joblock
from opsbench.errors import OpsbenchError
from opsbench.paths import JobPaths


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("report", help="rebuild run_report.html (and comparison.html for a suite)")
    p.add_argument(
        "--job-dir",
        dest="job_dirs",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="a job directory (repeatable); a suite directory is treated as --jobs-dir",
    )
    p.add_argument(
        "--jobs-dir",
        type=Path,
        metavar="DIR",
        help="a suite directory: every job in it, and comparison.html when it has several",
    )
    p.add_argument("--wait", type=float, default=0.0, help="seconds to wait for a running job")
    p.set_defaults(handler=run_report)
    c = sub.add_parser("compare", help="compare jobs side by side (comparison.html)")
    c.add_argument(
        "--job-dir", dest="job_dirs", action="append", type=Path, required=True, metavar="DIR"
    )
    c.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="default: comparison-<job>+<job>.html in the jobs' common parent",
    )
    c.add_argument(
        "--force", action="store_true", help="replace FILE even if it compares other jobs"
    )
    c.add_argument("--wait", type=float, default=0.0, help="seconds to wait for a running job")
    c.set_defaults(handler=run_compare)


@joblock.holding
def run_report(args: argparse.Namespace) -> int:
    from reporting.load import is_job_dir, job_dirs_in
    from reporting.run_report import write_run_report

    job_dirs: list[Path] = list(args.job_dirs)
    suites: list[Path] = [args.jobs_dir] if args.jobs_dir else []
    if not job_dirs and not suites:
        raise OpsbenchError("report: give --job-dir DIR (repeatable) or --jobs-dir DIR")
    for d in job_dirs:
        _must_exist(d)
        if is_job_dir(d):
            joblock.take(d, "report", wait=args.wait)
            print(f"wrote {write_run_report(d)}")
        elif job_dirs_in(d):
            suites.append(d)
        else:
            raise OpsbenchError(f"{d}: not a job directory (no config.json or trial directories)")
    for suite in suites:
        _report_suite(suite, args.wait)
    return 0


def _report_suite(suite: Path, wait: float) -> None:
    from reporting.comparison import write_comparison
    from reporting.load import job_dirs_in
    from reporting.run_report import write_run_report

    _must_exist(suite)
    jobs = job_dirs_in(suite)
    if not jobs:
        raise OpsbenchError(f"{suite}: no job directories inside")
    for d in [suite, *jobs]:
        joblock.take(d, "report", wait=wait)
    if len(jobs) == 1:
        print(f"wrote {write_run_report(jobs[0])}")
        return
    out = write_comparison(suite, build_reports=True)
    for job in jobs:
        print(f"wrote {JobPaths(job).report}")
    print(f"wrote {out}")


@joblock.holding
def run_compare(args: argparse.Namespace) -> int:
    from reporting.comparison import write_comparison
    from reporting.load import is_job_dir

    jobs: list[Path] = list(args.job_dirs)
    for d in jobs:
        _must_exist(d)
        if not is_job_dir(d):
            raise OpsbenchError(f"{d}: not a job directory (no config.json or trial directories)")
        joblock.take(d, "report", wait=args.wait)
    print(f"wrote {write_comparison(jobs, args.out, build_reports=False, force=args.force)}")
    return 0


def _must_exist(d: Path) -> None:
    if not d.is_dir():
        raise OpsbenchError(f"{d}: no such directory")
