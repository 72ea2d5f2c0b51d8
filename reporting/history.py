"""Links from the static reports to a variant's history in the results store.

A run report or a comparison links to `opsbench view`'s page of the job's variant when
the store holds that job. Looking costs nothing when there is no store (no file yet, or
`OPSBENCH_DATABASE_URL=off`), and a store that cannot be opened only drops the links: a
report is never lost to the store.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VariantHistory:
    variant: str
    jobs: int
    """Runs of the variant in the store, this one included."""
    url: str
    """The variant's page in `opsbench view` (served on 127.0.0.1 by default)."""


def _store_exists() -> bool:
    from opsbench.store.location import sqlite_file, store_disabled, store_url

    if store_disabled():
        return False
    path = sqlite_file(store_url())
    return path is None or path.is_file()


def histories(job_dirs: Sequence[Path]) -> dict[Path, VariantHistory]:
    """The history of each job's variant, keyed by the resolved job directory."""
    if not job_dirs or not _store_exists():
        return {}
    try:
        return _lookup(job_dirs)
    except Exception as exc:  # a report must never fail because of the store
        log.debug("no history links: %s", exc, exc_info=True)
        return {}


def _lookup(job_dirs: Sequence[Path]) -> dict[Path, VariantHistory]:
    import sqlalchemy as sa

    from opsbench.commands.view_cmd import DEFAULT_PORT
    from opsbench.store.engine import open_store
    from opsbench.store.tables import jobs
    from reporting.view.app import variant_path

    paths = {str(d.resolve()): d.resolve() for d in job_dirs}
    store = open_store()
    try:
        with store.read() as conn:
            found: dict[str, str] = {
                path: variant
                for path, variant in conn.execute(
                    sa.select(jobs.c.path, jobs.c.variant).where(jobs.c.path.in_(list(paths)))
                )
            }
            counts: dict[str, int] = {
                variant: n
                for variant, n in conn.execute(
                    sa.select(jobs.c.variant, sa.func.count())
                    .where(jobs.c.variant.in_(set(found.values())))
                    .group_by(jobs.c.variant)
                )
            }
    finally:
        store.close()
    base = f"http://127.0.0.1:{DEFAULT_PORT}"
    return {
        paths[p]: VariantHistory(v, int(counts.get(v, 1)), base + variant_path(v))
        for p, v in found.items()
    }
