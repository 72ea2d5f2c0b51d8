"""`opsbench submit`, `opsbench submission validate` and `opsbench leaderboard build`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from opsbench.errors import OpsbenchError
from opsbench.paths import ProjectPaths, find_root

if TYPE_CHECKING:
    from opsbench.models.release import ReleaseManifest


RELEASE_HELP = "the release manifest to validate against (default: the project's release.json)"


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("submit", help="package jobs for the leaderboard")
    p.add_argument("job_dirs", nargs="+", type=Path, metavar="JOB_DIR")
    p.add_argument("--metadata", type=Path, required=True, help="metadata.yaml to include")
    dest = p.add_mutually_exclusive_group(required=True)
    dest.add_argument("--out", type=Path, help="write submissions/<benchmark>/<version>/… here")
    dest.add_argument("--repo", type=Path, help="a git checkout: commit on a new branch")
    p.add_argument("--release", type=Path, help=RELEASE_HELP)
    p.set_defaults(handler=run_submit)

    p = sub.add_parser("submission", help="check a leaderboard package")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    v = actions.add_parser("validate", help="validate a package like the bot does")
    v.add_argument("path", type=Path, metavar="PATH")
    v.add_argument("--release", type=Path, help=RELEASE_HELP)
    v.add_argument("--json", type=Path, help="also write the JSON report to this file")
    v.set_defaults(handler=run_validate)

    p = sub.add_parser("leaderboard", help="build the leaderboard site")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    b = actions.add_parser("build", help="leaderboard.html and leaderboard.json")
    b.add_argument("submissions", type=Path, metavar="SUBMISSIONS_DIR")
    b.add_argument("--out", type=Path, required=True, metavar="SITE_DIR")
    b.add_argument("--release", type=Path, help=RELEASE_HELP)
    b.set_defaults(handler=run_leaderboard)


def _release(path: Path | None) -> ReleaseManifest:
    from opsbench.release import load_release

    return load_release(path or ProjectPaths(find_root()).release)


def run_submit(args: argparse.Namespace) -> int:
    from opsbench.submission.package import read_metadata, submit, submit_to_repo

    release = _release(args.release)
    meta = read_metadata(args.metadata, release)
    if args.repo:
        done = submit_to_repo(args.job_dirs, meta, release, args.repo)
    else:
        done = submit(args.job_dirs, meta, release, args.out)
    for line in done.warnings():
        print(f"warning: {line}", file=sys.stderr)
    print(f"packaged {len(args.job_dirs)} job(s) into {done.path}")
    if done.branch:
        print(f"committed on branch {done.branch}; push it and open a pull request")
    if not done.report.passed:
        print(
            f"the validator would reject this package ({len(done.report.failures())} rule(s)); "
            "see the warnings above",
            file=sys.stderr,
        )
    return 0


def run_validate(args: argparse.Namespace) -> int:
    from opsbench.submission.validate import validate_package, verdict_lines

    if not args.path.is_dir() or args.path.is_symlink():
        raise OpsbenchError(f"{args.path}: not a package directory")
    report = validate_package(args.path, _release(args.release))
    print("\n".join(verdict_lines(report)))
    text = report.model_dump_json(indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0 if report.passed else 1


def run_leaderboard(args: argparse.Namespace) -> int:
    from reporting.leaderboard import build_leaderboard

    if not args.submissions.is_dir():
        raise OpsbenchError(f"{args.submissions}: not a directory")
    board = build_leaderboard(args.submissions, args.out, _release(args.release))
    for r in board.rejected:
        print(f"invalid: {r.name}: {r.reasons[0] if r.reasons else ''}", file=sys.stderr)
    print(f"{board.html} ({len(board.entries)} ranked, {len(board.rejected)} invalid)")
    print(board.json)
    return 0
