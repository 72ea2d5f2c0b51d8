"""`opsbench store ingest PATH…` and `opsbench store flush --job NAME`.

Ingest backfills job and suite directories written earlier or elsewhere (a finished job
is ingested automatically); it is idempotent, so running it twice changes nothing.
Flush removes a job's rows, every run of that name, or one run by its key (`name@clock`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from opsbench import joblock

DATABASE_HELP = "database URL (default: env OPSBENCH_DATABASE_URL, else jobs/results.db)"


def add_database_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database-url", metavar="URL", help=DATABASE_HELP)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("store", help="the results store: ingest job directories, flush jobs")
    store_sub = p.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    ingest = store_sub.add_parser("ingest", help="ingest job or suite directories (idempotent)")
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    add_database_argument(ingest)
    ingest.add_argument("--wait", type=float, default=0.0, help="seconds to wait for a running job")
    ingest.set_defaults(handler=run_ingest)
    flush = store_sub.add_parser("flush", help="remove a job's rows from the store")
    flush.add_argument(
        "--job", action="append", required=True, metavar="NAME", help="job name or key (repeatable)"
    )
    add_database_argument(flush)
    flush.set_defaults(handler=run_flush)


@joblock.holding
def run_ingest(args: argparse.Namespace) -> int:
    from opsbench.store.engine import display_url, open_store
    from opsbench.store.ingest import ingest_job, job_dirs

    dirs = job_dirs(args.paths)
    store = open_store(args.database_url)
    skipped = 0
    try:
        for job_dir in dirs:
            joblock.take(job_dir, "store ingest", wait=args.wait)  # a running job is not done
            report = ingest_job(store, job_dir)
            print(
                f"ingested {report.job} ({job_dir}): {report.trials} trials "
                f"({report.added} new, {report.updated} updated, {report.unchanged} unchanged, "
                f"{report.removed} removed), "
                f"{report.new_gradings} new gradings"
            )
            for name, why in sorted(report.skipped.items()):
                print(f"  skipped {name}: {why}")
            for name, why in sorted(report.notes.items()):
                print(f"  note {name}: {why}")
            skipped += len(report.skipped)
    finally:
        store.close()
    print(f"store {display_url(store.url)}: {len(dirs)} jobs ingested, {skipped} trials skipped")
    return 0


def run_flush(args: argparse.Namespace) -> int:
    from opsbench.errors import OpsbenchError
    from opsbench.store.engine import open_store
    from opsbench.store.ingest import flush_jobs

    store = open_store(args.database_url)
    missing = []
    try:
        for name in args.job:
            report = flush_jobs(store, name)
            if not report.jobs:
                missing.append(name)
            for key in report.jobs:
                print(f"flushed {key}")
            if report.jobs:
                print(f"  {len(report.jobs)} job runs, {report.trials} trials removed")
    finally:
        store.close()
    if missing:
        raise OpsbenchError("\n".join(f"--job: no job {n!r} in the store" for n in missing))
    return 0
