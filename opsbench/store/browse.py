"""Store queries behind `opsbench view`'s pages: jobs, one job's trials, one trial."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from opsbench.metrics import Interval, wilson
from opsbench.store.tables import gradings, jobs, trials, verdicts


@dataclass(frozen=True)
class JobLine:
    id: int
    name: str
    variant: str
    scenario_time: str
    started_at: datetime | None
    path: str | None
    trials: int
    scored: int
    passed: int
    reward: float | None
    cost_usd: float

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.scored if self.scored else None

    @property
    def pass_ci(self) -> Interval | None:
        return wilson(self.passed, self.scored)


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def job_lines(
    conn: Connection, variant: str | None = None, job_id: int | None = None
) -> list[JobLine]:
    """Every job (newest first) with its trial counts, pass rate and reward."""
    scored = sa.func.sum(sa.case((trials.c.scored, 1), else_=0))
    passed = sa.func.sum(sa.case((sa.and_(trials.c.scored, trials.c.passed), 1), else_=0))
    reward = sa.func.sum(sa.case((trials.c.scored, trials.c.reward), else_=0.0))
    per_job = (
        sa.select(
            trials.c.job_id,
            sa.func.count().label("n"),
            scored.label("scored"),
            passed.label("passed"),
            reward.label("reward"),
            sa.func.sum(trials.c.cost_usd).label("cost"),
        )
        .group_by(trials.c.job_id)
        .subquery()
    )
    query = sa.select(jobs, per_job).select_from(
        jobs.outerjoin(per_job, per_job.c.job_id == jobs.c.id)
    )
    if variant:
        query = query.where(jobs.c.variant == variant)
    if job_id is not None:
        query = query.where(jobs.c.id == job_id)
    out = []
    for r in conn.execute(query):
        n_scored = int(r.scored or 0)
        out.append(
            JobLine(
                id=r.id,
                name=r.name,
                variant=r.variant,
                scenario_time=r.scenario_time,
                started_at=_aware(r.started_at),
                path=r.path,
                trials=int(r.n or 0),
                scored=n_scored,
                passed=int(r.passed or 0),
                reward=float(r.reward) / n_scored if n_scored else None,
                cost_usd=float(r.cost or 0.0),
            )
        )
    out.sort(
        key=lambda j: (j.started_at.isoformat() if j.started_at else j.scenario_time, j.id),
        reverse=True,
    )
    return out


def job_row(conn: Connection, job_id: int) -> Row[Any] | None:
    return conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).first()


def job_trials(conn: Connection, job_id: int) -> list[Row[Any]]:
    return list(
        conn.execute(
            sa.select(trials)
            .where(trials.c.job_id == job_id)
            .order_by(trials.c.task_id, trials.c.attempt)
        )
    )


def trial_row(conn: Connection, job_id: int, trial_name: str) -> Row[Any] | None:
    return conn.execute(
        sa.select(trials).where(trials.c.job_id == job_id, trials.c.trial_name == trial_name)
    ).first()


@dataclass(frozen=True)
class GradingView:
    row: Row[Any]
    verdicts: list[Row[Any]]


def trial_gradings(conn: Connection, trial_id: int) -> list[GradingView]:
    """The trial's gradings, the current one first, then earlier ones newest first."""
    rows = conn.execute(
        sa.select(gradings)
        .where(gradings.c.trial_id == trial_id)
        .order_by(gradings.c.current.desc(), gradings.c.graded_at.desc())
    ).all()
    ids = [g.id for g in rows]
    by_grading: dict[int, list[Row[Any]]] = {i: [] for i in ids}
    if ids:
        for v in conn.execute(
            sa.select(verdicts).where(verdicts.c.grading_id.in_(ids)).order_by(verdicts.c.id)
        ):
            by_grading[v.grading_id].append(v)
    return [GradingView(g, by_grading[g.id]) for g in rows]


def variants(conn: Connection) -> list[str]:
    return list(
        conn.execute(sa.select(jobs.c.variant).distinct().order_by(jobs.c.variant)).scalars()
    )


def categories(conn: Connection) -> list[str]:
    return list(
        conn.execute(sa.select(trials.c.category).distinct().order_by(trials.c.category)).scalars()
    )
