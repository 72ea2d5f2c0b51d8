"""Write job records into the store: one transaction per job, idempotent.

Re-ingesting a job (resumed, regraded, or ingested again from another machine) updates
its rows: the job row is an upsert on its key, a trial is keyed by (job, trial name), a
grading by (trial, digest of its file), so nothing duplicates. The job row's upsert
comes first and locks it (PostgreSQL) or the whole file is locked (SQLite), so two
concurrent ingests of one job run one after the other. A regrade adds a grading and
marks it current; earlier ones stay. Trials no longer on disk (archived by a resume) are
removed; a trial skipped as corrupt keeps whatever row it had.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Connection

from opsbench.errors import OpsbenchError
from opsbench.paths import JobPaths
from opsbench.store.artifacts import JobRecord, TrialRecord, read_job
from opsbench.store.bulk import bulk_insert
from opsbench.store.engine import Store, StoreError, display_url
from opsbench.store.tables import gradings, job_tasks, jobs, trials, verdicts


@dataclass
class IngestReport:
    job: str
    job_id: int
    trials: int
    added: int
    updated: int
    removed: int
    new_gradings: int
    unchanged: int = 0
    """Trials whose files are what the store already holds (left untouched)."""
    skipped: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def job_dirs(paths: Iterable[Path]) -> list[Path]:
    """Job directories named directly or found inside suite/jobs directories (one level)."""
    from reporting.load import is_job_dir, job_dirs_in

    out: list[Path] = []
    for p in paths:
        if not p.is_dir():
            raise OpsbenchError(f"{p}: no such directory")
        if _has_clock(p):
            out.append(p)
            continue
        found = [d for d in job_dirs_in(p) if _has_clock(d)]
        if not found and is_job_dir(p):
            out.append(p)  # a job without its clock: read_job names what is missing
        elif not found:
            raise OpsbenchError(f"{p}: no job directories here (a job has scenario_time.txt)")
        out.extend(found)
    return out


def _has_clock(p: Path) -> bool:
    return JobPaths(p).scenario_time.is_file()


def ingest_job(store: Store, job_dir: Path) -> IngestReport:
    record = read_job(job_dir)
    try:
        return _write_with_retry(store, record)
    except (exc.SQLAlchemyError, store.engine.dialect.loaded_dbapi.Error) as error:
        first = str(getattr(error, "orig", error)).strip().splitlines()
        raise StoreError(
            f"store {display_url(store.url)}: could not write {job_dir}: "
            f"{first[0] if first else type(error).__name__}"
        ) from None


def _write_with_retry(store: Store, record: JobRecord) -> IngestReport:
    """A unique-key race with a concurrent first ingest loses at most once: retry."""
    try:
        with store.write() as conn:
            return write_record(conn, record)
    except exc.IntegrityError:
        with store.write() as conn:
            return write_record(conn, record)


def write_record(conn: Connection, record: JobRecord) -> IngestReport:
    """Upsert one job and its trials, gradings and verdicts inside the caller's transaction.

    A trial whose files are byte-for-byte what was stored (same `source_digest`) is left
    alone, so re-ingesting an unchanged job writes only its job row."""
    job_id = _upsert_job(conn, record)
    existing = {
        name: (tid, digest, started)
        for tid, name, digest, started in conn.execute(
            sa.select(
                trials.c.id, trials.c.trial_name, trials.c.source_digest, trials.c.started_at
            ).where(trials.c.job_id == job_id)
        )
    }
    on_disk = {t.name for t in record.trials}
    gone = [
        tid
        for name, (tid, _, _) in existing.items()
        if name not in on_disk and name not in record.skipped
    ]
    if gone:
        _delete_trials(conn, gone)
    new = [t for t in record.trials if t.name not in existing]
    changed = [
        t
        for t in record.trials
        if t.name in existing and existing[t.name][1] != t.row["source_digest"]
    ]
    bulk_insert(conn, trials, [{"job_id": job_id, **t.row} for t in new])
    ids = _trial_ids(conn, job_id) if new else {n: e[0] for n, e in existing.items()}
    rerun = [
        ids[t.name] for t in changed if not _same_time(existing[t.name][2], t.row["started_at"])
    ]
    if rerun:  # a new run of the trial (resume after an archive): its old gradings go
        _delete_gradings(conn, rerun)
    if changed:
        conn.execute(
            trials.update().where(trials.c.id == sa.bindparam("_id")),
            [{"_id": ids[t.name], **t.row} for t in changed],
        )
    added = _write_gradings(conn, job_id, new + changed, ids, known_trials=bool(changed))
    if new or changed or gone:
        _sum_tasks(conn, job_id)
    return IngestReport(
        job=record.row["name"],
        job_id=job_id,
        trials=len(record.trials),
        added=len(new),
        updated=len(changed),
        removed=len(gone),
        new_gradings=added,
        unchanged=len(record.trials) - len(new) - len(changed),
        skipped=dict(record.skipped),
        notes=dict(record.notes),
    )


def _sum_tasks(conn: Connection, job_id: int) -> None:
    """Rewrite the job's per-task sums from its trials (unscored trials carry reward 0)."""
    t = trials.c

    def count(column: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.coalesce(sa.func.sum(sa.cast(column, sa.Integer)), 0)

    conn.execute(sa.delete(job_tasks).where(job_tasks.c.job_id == job_id))
    sums = (
        sa.select(
            t.job_id,
            t.task_id,
            sa.func.min(t.category),
            sa.func.count(),
            count(t.scored),
            count(t.passed),
            sa.func.sum(t.reward),
            sa.func.sum(t.reward * t.reward),
            sa.func.sum(t.cost_usd),
        )
        .where(t.job_id == job_id)
        .group_by(t.job_id, t.task_id)
    )
    columns = ["job_id", "task_id", "category", "trials", "scored", "passed"]
    columns += ["reward_sum", "reward_sq", "cost_usd"]
    conn.execute(job_tasks.insert().from_select(columns, sums))


def _trial_ids(conn: Connection, job_id: int) -> dict[str, int]:
    query = sa.select(trials.c.trial_name, trials.c.id).where(trials.c.job_id == job_id)
    return {name: tid for name, tid in conn.execute(query)}


def _delete_gradings(conn: Connection, trial_ids: Sequence[int]) -> None:
    """Verdicts first: SQLite cascades only where foreign keys are on, which other
    clients of the same file may not have done."""
    for chunk in _chunks(trial_ids, 5000):
        graded = sa.select(gradings.c.id).where(gradings.c.trial_id.in_(chunk))
        conn.execute(sa.delete(verdicts).where(verdicts.c.grading_id.in_(graded)))
        conn.execute(sa.delete(gradings).where(gradings.c.trial_id.in_(chunk)))


def _delete_trials(conn: Connection, trial_ids: Sequence[int]) -> None:
    _delete_gradings(conn, trial_ids)
    for chunk in _chunks(trial_ids, 5000):
        conn.execute(sa.delete(trials).where(trials.c.id.in_(chunk)))


def _same_time(a: datetime | None, b: datetime) -> bool:
    if a is None:
        return False
    if a.tzinfo is None:  # SQLite hands timezone-aware values back naive, in UTC
        a = a.replace(tzinfo=UTC)
    return abs((a - b).total_seconds()) < 1e-3


def _insert(conn: Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def _upsert_job(conn: Connection, record: JobRecord) -> int:
    values = {**record.row, "job_key": record.key, "ingested_at": datetime.now(UTC)}
    stmt = _insert(conn, jobs).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[jobs.c.job_key],
        set_={k: stmt.excluded[k] for k in values if k != "job_key"},
    ).returning(jobs.c.id)
    job_id: int = conn.execute(stmt).scalar_one()
    return job_id


def _grading_ids(conn: Connection, job_id: int) -> dict[tuple[int, str], int]:
    query = (
        sa.select(gradings.c.trial_id, gradings.c.digest, gradings.c.id)
        .select_from(gradings.join(trials, gradings.c.trial_id == trials.c.id))
        .where(trials.c.job_id == job_id)
    )
    return {(tid, digest): gid for tid, digest, gid in conn.execute(query)}


def _write_gradings(
    conn: Connection,
    job_id: int,
    records: Sequence[TrialRecord],
    ids: dict[str, int],
    known_trials: bool,
) -> int:
    """Insert gradings not stored yet (with their verdicts); keep `current` on the newest."""
    known = _grading_ids(conn, job_id) if known_trials else {}
    pending = [
        (ids[t.name], g)
        for t in records
        for g in t.gradings
        if (ids[t.name], g.digest) not in known
    ]
    if not pending:
        return 0
    bulk_insert(
        conn,
        gradings,
        [
            {
                "trial_id": tid,
                "digest": g.digest,
                "graded_at": g.graded_at,
                "source": g.source,
                "current": g.current,
                **g.row,
            }
            for tid, g in pending
        ],
    )
    stored = _grading_ids(conn, job_id)
    bulk_insert(
        conn,
        verdicts,
        [{"grading_id": stored[(tid, g.digest)], **v} for tid, g in pending for v in g.verdicts],
    )
    graded_before = {tid for tid, _ in known}
    regraded = {tid for tid, g in pending if g.current and tid in graded_before}
    moved = [
        {"_t": ids[t.name], "_d": g.digest, "_s": g.source}
        for t in records
        if ids[t.name] in regraded
        for g in t.gradings
        if not g.current
    ]
    if moved:  # a regrade: the grading that was current is now under history/
        conn.execute(
            gradings.update()
            .where(gradings.c.trial_id == sa.bindparam("_t"))
            .where(gradings.c.digest == sa.bindparam("_d"))
            .values(current=False, source=sa.bindparam("_s")),
            moved,
        )
    return len(pending)


def _chunks(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass
class FlushReport:
    jobs: list[str]
    trials: int


def flush_jobs(store: Store, name: str) -> FlushReport:
    """Remove every stored run of job `name` (or the one run whose key is `name`)."""
    with store.write() as conn:
        found = conn.execute(
            sa.select(jobs.c.id, jobs.c.job_key, jobs.c.n_trials).where(
                sa.or_(jobs.c.name == name, jobs.c.job_key == name)
            )
        ).all()
        if not found:
            return FlushReport([], 0)
        ids = [row.id for row in found]
        trial_ids = list(
            conn.execute(sa.select(trials.c.id).where(trials.c.job_id.in_(ids))).scalars()
        )
        _delete_trials(conn, trial_ids)
        conn.execute(sa.delete(job_tasks).where(job_tasks.c.job_id.in_(ids)))
        conn.execute(sa.delete(jobs).where(jobs.c.id.in_(ids)))
    return FlushReport([row.job_key for row in found], sum(row.n_trials for row in found))
