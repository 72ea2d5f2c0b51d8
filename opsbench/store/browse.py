"""Store queries behind `opsbench view`'s pages: jobs, one job's trials, one trial."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from opsbench.metrics import Interval, wilson
from opsbench.store.tables import gradings, jobs, trials, verdicts
from opsbench.store.trends import History


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


def job_lines(history: History, variant: str | None = None) -> list[JobLine]:
    """Every job of the history (newest first) with its trial counts, pass rate, reward."""
    sums: dict[int, list[float]] = {j: [0, 0, 0, 0.0, 0.0] for j in history.jobs}
    for c in history.cells:
        acc = sums[c.job_id]
        acc[0] += c.trials
        acc[1] += c.scored
        acc[2] += c.passed
        acc[3] += c.reward_sum
        acc[4] += c.cost_sum
    out = []
    for job in sorted(history.jobs.values(), key=lambda j: j.order, reverse=True):
        if variant and job.variant != variant:
            continue
        n, scored, passed, reward, cost = sums[job.id]
        out.append(
            JobLine(
                id=job.id,
                name=job.name,
                variant=job.variant,
                scenario_time=job.scenario_time,
                started_at=job.when,
                path=job.path,
                trials=int(n),
                scored=int(scored),
                passed=int(passed),
                reward=reward / scored if scored else None,
                cost_usd=cost,
            )
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


def variants(history: History) -> list[str]:
    return sorted({j.variant for j in history.jobs.values()})


def categories(history: History) -> list[str]:
    return sorted({c.category for c in history.cells})


def store_stamp(conn: Connection) -> tuple[int, str]:
    """Changes whenever a job is ingested or flushed: the key of the view's cache."""
    n, last = conn.execute(sa.select(sa.func.count(), sa.func.max(jobs.c.ingested_at))).one()
    return int(n), str(last)
