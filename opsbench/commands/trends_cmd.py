"""`opsbench trends`: pass rate and reward per variant over time, and regression alarms.

`--fail-on-regression` makes it a CI gate: exit 1 when any task x variant is flagged.
"""

from __future__ import annotations

import argparse

from opsbench.commands.store_cmd import add_database_argument

REGRESSION_EXIT = 1


def add_filter_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--variant", help="one variant (the job name without -kN)")
    p.add_argument("--category", help="only trials of this task category")
    p.add_argument("--task", dest="task", metavar="TASK_ID", help="only this task")


def add_window_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--recent", type=int, default=5, help="jobs in the recent window (5)")
    p.add_argument("--baseline", type=int, default=20, help="at most this many jobs before (20)")
    p.add_argument("--alpha", type=float, default=0.05, help="family-wise error rate (0.05)")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("trends", help="pass rate and reward over time; regression alarms")
    add_filter_arguments(p)
    add_window_arguments(p)
    p.add_argument("--last", type=int, default=20, help="jobs shown per variant (0: all)")
    p.add_argument("--all-tests", action="store_true", help="print every test, not only flags")
    p.add_argument(
        "--fail-on-regression", action="store_true", help="exit 1 when a regression is flagged"
    )
    add_database_argument(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from opsbench.errors import OpsbenchError
    from opsbench.store.engine import display_url, open_store
    from opsbench.store.textreport import regression_header, regression_line, trend_lines
    from opsbench.store.trends import Filters, load_history, regressions_of, trends_of

    if args.recent < 1 or args.baseline < 1 or not 0 < args.alpha < 1:
        raise OpsbenchError("--recent and --baseline: at least 1; --alpha: between 0 and 1")
    filters = Filters(args.variant, args.category, args.task)
    store = open_store(args.database_url)
    try:
        with store.read() as conn:
            history = load_history(conn, filters)
    finally:
        store.close()
    found = trends_of(history)
    report = regressions_of(history, recent=args.recent, baseline=args.baseline, alpha=args.alpha)
    scope = " · ".join(
        f"{k} {v}" for k, v in (("category", args.category), ("task", args.task)) if v
    )
    print(f"store {display_url(store.url)}{': ' + scope if scope else ''}")
    if not found:
        print("no jobs in the store match (ingest some with `opsbench store ingest PATH`)")
    for trend in found:
        print("\n".join(trend_lines(trend, args.last)))
    print(regression_header(report))
    for test in report.tests if args.all_tests else report.flagged:
        print(regression_line(test))
    if report.flagged and args.fail_on_regression:
        return REGRESSION_EXIT
    return 0
