"""`opsbench sync` and `opsbench schema`."""

from __future__ import annotations

import argparse
import sys

from opsbench.paths import ProjectPaths, find_root


def run(args: argparse.Namespace) -> int:
    paths = ProjectPaths(find_root())
    if args.list_ids:
        from opsbench.compile import compile_all
        from opsbench.sync import current_task_ids

        ids = current_task_ids(paths) if args.path is None else None
        if ids is None:  # tasks/ is stale or absent: compile in memory, write nothing
            ids = [task.task_id for task in compile_all(paths, args.path)]
        print("\n".join(ids))
        return 0
    from opsbench.sync import sync

    report = sync(paths, args.path, check=args.check)
    if args.check:
        if report.changed:
            for name in report.written:
                print(f"out of date: tasks/{name}", file=sys.stderr)
            for name in report.removed:
                print(f"no longer specified: tasks/{name}", file=sys.stderr)
            print("run `opsbench sync` to update tasks/", file=sys.stderr)
            return 1
        print(f"tasks/ is up to date ({len(report.tasks)} tasks)")
        return 0
    print(
        f"{len(report.tasks)} tasks · {len(report.written)} written · {len(report.removed)} removed"
    )
    return 0


def run_schema(args: argparse.Namespace) -> int:
    from opsbench.schema import EXTRA_SCHEMAS, render_schema

    paths = ProjectPaths(find_root())
    targets = {paths.schema: render_schema()}
    targets.update({paths.schema.parent / name: make() for name, make in EXTRA_SCHEMAS.items()})
    stale = 0
    for target, text in targets.items():
        current = target.read_text() if target.is_file() else None
        if args.check:
            if current != text:
                print(f"{target}: out of date; run `opsbench schema`", file=sys.stderr)
                stale += 1
            else:
                print(f"{target}: up to date")
            continue
        if current != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        print(f"wrote {target}")
    return 1 if stale else 0
