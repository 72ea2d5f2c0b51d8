"""`opsbench release`: write or check the committed release manifest."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from opsbench.paths import ProjectPaths, find_root


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "release", help="write the release manifest (release.json) submissions are checked against"
    )
    p.add_argument("--check", action="store_true", help="exit 1 if release.json is out of date")
    p.add_argument("--version", dest="release_version", help="a new release version")
    p.add_argument("--benchmark", help="the benchmark's name (default: the committed one)")
    p.add_argument("--min-attempts", type=int, help="attempts a submission needs per task")
    p.add_argument(
        "--task-name",
        action="append",
        default=[],
        help="only this task (repeatable; for a test release written with --out)",
    )
    p.add_argument("--out", help="write here instead of the project's release.json")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from opsbench.release import build_manifest, current_identity, render_manifest

    paths = ProjectPaths(find_root())
    identity = current_identity(paths)
    if args.release_version:
        identity = replace(identity, version=args.release_version)
    if args.benchmark:
        identity = replace(identity, benchmark=args.benchmark)
    if args.min_attempts:
        identity = replace(identity, min_attempts=args.min_attempts)
    manifest = build_manifest(paths, identity, args.task_name or None)
    target = Path(args.out) if args.out else paths.release
    text = render_manifest(manifest)
    current = target.read_text() if target.is_file() else None
    if args.check:
        if current != text:
            print(f"{target}: out of date; run `opsbench release`", file=sys.stderr)
            return 1
        print(f"{target}: up to date ({len(manifest.tasks)} tasks)")
        return 0
    if current != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    print(
        f"wrote {target}: {manifest.benchmark} {manifest.version}, {len(manifest.tasks)} tasks,"
        f" grader {manifest.grader_version}"
    )
    return 0
