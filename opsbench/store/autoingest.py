"""The job-end hook: ingest a finished job, and never fail the job because of the store.

`finish_job` calls `ingest_finished` once per job. A store that is down, locked or
misconfigured costs the job one warning line saying so and how to catch up later.
"""

from __future__ import annotations

import logging
import shlex
from pathlib import Path

from opsbench.display import Display
from opsbench.store.location import store_disabled

log = logging.getLogger(__name__)


def ingest_finished(job_dir: Path, display: Display) -> bool:
    """Ingest `job_dir` into the store; on any failure warn in one line, return False."""
    if store_disabled():
        return False
    try:
        from opsbench.store.engine import open_store
        from opsbench.store.ingest import ingest_job

        store = open_store()
        try:
            report = ingest_job(store, job_dir)
        finally:
            store.close()
    except Exception as exc:  # the store must never fail a finished job
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        log.debug("ingest of %s failed", job_dir, exc_info=True)
        display.warning(
            f"could not ingest {job_dir.name} into the results store ({reason}); "
            f"run `opsbench store ingest {shlex.quote(str(job_dir))}` later"
        )
        return False
    skipped = f", {len(report.skipped)} skipped" if report.skipped else ""
    display.message(f"store: {report.trials} trials of {report.job}{skipped}")
    return True
