"""Trends and regressions, read from the store.

A **trend** is one point per job of a variant, in the order the jobs ran: the pass rate
of its scored trials with a Wilson interval and the mean reward with a normal-theory
interval, over the whole corpus or filtered to a category or a task. Trials whose
outcome does not count in scores (provider, infrastructure, cancelled: see
`opsbench.failures.POLICY`) are counted apart and never enter a denominator.

A **regression** is a task x variant whose recent pass rate is significantly below its
own baseline: over the variant's jobs that scored the task, the last `recent` jobs form
the recent window and up to `baseline` jobs before them the baseline. Each pair with data
in both windows is one test, a one-sided Fisher's exact test; p-values are adjusted for
the number of tests with Holm's method, and a pair is flagged when its adjusted p-value
is at most `alpha`. The evidence (runs, passes, p-values) is kept for printing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from opsbench.metrics import (
    Interval,
    fisher_less,
    holm_adjust,
    normal_mean_interval,
    wilson,
)
from opsbench.store.tables import jobs, trials


@dataclass(frozen=True)
class Filters:
    variant: str | None = None
    category: str | None = None
    task: str | None = None

    def where(self) -> list[sa.ColumnElement[bool]]:
        out: list[sa.ColumnElement[bool]] = []
        if self.variant:
            out.append(jobs.c.variant == self.variant)
        if self.category:
            out.append(trials.c.category == self.category)
        if self.task:
            out.append(trials.c.task_id == self.task)
        return out


@dataclass(frozen=True)
class TrendPoint:
    job_id: int
    job: str
    variant: str
    when: datetime | None
    scenario_time: str
    scored: int
    passed: int
    excluded: int
    reward_sum: float
    pass_rate: float | None
    pass_ci: Interval | None
    reward: float | None
    reward_ci: Interval | None


@dataclass
class Trend:
    variant: str
    points: list[TrendPoint] = field(default_factory=list)


def _scored(column: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.sum(sa.case((sa.and_(trials.c.scored, column), 1), else_=0))


def _when(point_when: datetime | None) -> datetime | None:
    if point_when is not None and point_when.tzinfo is None:
        return point_when.replace(tzinfo=UTC)
    return point_when


def trends(conn: Connection, filters: Filters = Filters()) -> list[Trend]:
    """One trend per variant (sorted by name), its points in the order the jobs ran."""
    scored_reward = sa.case((trials.c.scored, trials.c.reward), else_=0.0)
    query = (
        sa.select(
            jobs.c.id,
            jobs.c.name,
            jobs.c.variant,
            jobs.c.started_at,
            jobs.c.scenario_time,
            _scored(sa.true()).label("scored"),
            _scored(trials.c.passed).label("passed"),
            sa.func.sum(sa.case((trials.c.scored, 0), else_=1)).label("excluded"),
            sa.func.sum(scored_reward).label("reward_sum"),
            sa.func.sum(scored_reward * scored_reward).label("reward_sq"),
        )
        .select_from(trials.join(jobs, trials.c.job_id == jobs.c.id))
        .where(*filters.where())
        .group_by(jobs.c.id, jobs.c.name, jobs.c.variant, jobs.c.started_at, jobs.c.scenario_time)
    )
    by_variant: dict[str, Trend] = {}
    for row in conn.execute(query):
        n, k = int(row.scored or 0), int(row.passed or 0)
        total, sq = float(row.reward_sum or 0.0), float(row.reward_sq or 0.0)
        point = TrendPoint(
            job_id=row.id,
            job=row.name,
            variant=row.variant,
            when=_when(row.started_at),
            scenario_time=row.scenario_time,
            scored=n,
            passed=k,
            excluded=int(row.excluded or 0),
            reward_sum=total,
            pass_rate=k / n if n else None,
            pass_ci=wilson(k, n),
            reward=total / n if n else None,
            reward_ci=normal_mean_interval(n, total, sq),
        )
        by_variant.setdefault(row.variant, Trend(row.variant)).points.append(point)
    for trend in by_variant.values():
        trend.points.sort(key=_order)
    return [by_variant[v] for v in sorted(by_variant)]


def _order(p: TrendPoint) -> tuple[str, str, int]:
    return (p.when.isoformat() if p.when else p.scenario_time, p.scenario_time, p.job_id)


@dataclass(frozen=True)
class Window:
    jobs: int
    runs: int
    passes: int

    @property
    def rate(self) -> float | None:
        return self.passes / self.runs if self.runs else None


@dataclass(frozen=True)
class RegressionTest:
    variant: str
    task_id: str
    category: str
    baseline: Window
    recent: Window
    p_value: float
    adjusted: float
    flagged: bool
    last_job: str


@dataclass
class RegressionReport:
    tests: list[RegressionTest]
    alpha: float
    recent: int
    baseline: int

    @property
    def flagged(self) -> list[RegressionTest]:
        return [t for t in self.tests if t.flagged]


@dataclass
class _Cell:
    order: tuple[str, str, int]
    job: str
    runs: int
    passes: int


def regressions(
    conn: Connection,
    filters: Filters = Filters(),
    *,
    recent: int = 5,
    baseline: int = 20,
    alpha: float = 0.05,
) -> RegressionReport:
    """Test every task x variant with scored runs in both windows (see the module doc)."""
    query = (
        sa.select(
            jobs.c.id,
            jobs.c.name,
            jobs.c.variant,
            jobs.c.started_at,
            jobs.c.scenario_time,
            trials.c.task_id,
            sa.func.min(trials.c.category).label("category"),
            sa.func.count().label("runs"),
            sa.func.sum(sa.case((trials.c.passed, 1), else_=0)).label("passes"),
        )
        .select_from(trials.join(jobs, trials.c.job_id == jobs.c.id))
        .where(trials.c.scored, *filters.where())
        .group_by(
            jobs.c.id,
            jobs.c.name,
            jobs.c.variant,
            jobs.c.started_at,
            jobs.c.scenario_time,
            trials.c.task_id,
        )
    )
    cells: dict[tuple[str, str], list[_Cell]] = defaultdict(list)
    categories: dict[str, str] = {}
    for row in conn.execute(query):
        when = _when(row.started_at)
        order = (when.isoformat() if when else row.scenario_time, row.scenario_time, row.id)
        cells[(row.variant, row.task_id)].append(
            _Cell(order, row.name, int(row.runs), int(row.passes or 0))
        )
        categories[row.task_id] = row.category
    raw: list[tuple[str, str, Window, Window, float, str]] = []
    for (variant, task_id), history in sorted(cells.items()):
        history.sort(key=lambda c: c.order)
        recent_cells = history[-recent:]
        base_cells = history[:-recent][-baseline:] if len(history) > recent else []
        if not base_cells:
            continue
        b, r = _window(base_cells), _window(recent_cells)
        p = fisher_less(b.passes, b.runs, r.passes, r.runs)
        raw.append((variant, task_id, b, r, p, recent_cells[-1].job))
    adjusted = holm_adjust([p for *_, p, _ in raw])
    tests = [
        RegressionTest(
            variant=v,
            task_id=t,
            category=categories.get(t, ""),
            baseline=b,
            recent=r,
            p_value=p,
            adjusted=adj,
            flagged=adj <= alpha and (r.rate or 0.0) < (b.rate or 0.0),
            last_job=last,
        )
        for (v, t, b, r, p, last), adj in zip(raw, adjusted, strict=True)
    ]
    tests.sort(key=lambda t: (not t.flagged, t.adjusted, t.variant, t.task_id))
    return RegressionReport(tests, alpha, recent, baseline)


def _window(cells: list[_Cell]) -> Window:
    return Window(len(cells), sum(c.runs for c in cells), sum(c.passes for c in cells))
