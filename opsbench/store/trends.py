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
from opsbench.store.tables import job_tasks, jobs


@dataclass(frozen=True)
class Filters:
    variant: str | None = None
    category: str | None = None
    task: str | None = None

    def trial_where(self) -> list[sa.ColumnElement[bool]]:
        """Conditions on trials (the variant is filtered on jobs)."""
        out: list[sa.ColumnElement[bool]] = []
        if self.category:
            out.append(job_tasks.c.category == self.category)
        if self.task:
            out.append(job_tasks.c.task_id == self.task)
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


def _when(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True)
class JobInfo:
    id: int
    name: str
    variant: str
    when: datetime | None
    scenario_time: str
    path: str | None
    order: tuple[str, str, int]
    """Jobs run in the order they started (their clock when no trial has a time)."""


def _job_info(
    id: int, name: str, variant: str, started: datetime | None, clock: str, path: str | None
) -> JobInfo:
    when = _when(started)
    order = (when.isoformat() if when else clock, clock, id)
    return JobInfo(id, name, variant, when, clock, path, order)


@dataclass(frozen=True)
class Cell:
    """One task in one job: trial counts and reward sums (unscored trials carry 0)."""

    job_id: int
    task_id: str
    category: str
    trials: int
    scored: int
    passed: int
    reward_sum: float
    reward_sq: float
    cost_sum: float


@dataclass
class History:
    jobs: dict[int, JobInfo]
    cells: list[Cell]


def load_history(conn: Connection, filters: Filters = Filters()) -> History:
    """Per job and task sums (`job_tasks`, kept by ingest); trends, regressions and the
    view's job list are all computed from it."""
    job_query = sa.select(
        jobs.c.id, jobs.c.name, jobs.c.variant, jobs.c.started_at, jobs.c.scenario_time, jobs.c.path
    )
    if filters.variant:
        job_query = job_query.where(jobs.c.variant == filters.variant)
    infos = {r[0]: _job_info(*r) for r in conn.execute(job_query).all()}
    t = job_tasks.c
    cell_query = sa.select(
        t.job_id,
        t.task_id,
        t.category,
        t.trials,
        t.scored,
        t.passed,
        t.reward_sum,
        t.reward_sq,
        t.cost_usd,
    ).where(*filters.trial_where())
    cells = [Cell(*row) for row in conn.execute(cell_query).all() if row[0] in infos]
    return History(infos, cells)


def trends(conn: Connection, filters: Filters = Filters()) -> list[Trend]:
    return trends_of(load_history(conn, filters))


def trends_of(history: History) -> list[Trend]:
    """One trend per variant (sorted by name), its points in the order the jobs ran."""
    sums: dict[int, list[float]] = {}
    for c in history.cells:
        acc = sums.setdefault(c.job_id, [0, 0, 0, 0.0, 0.0])
        acc[0] += c.trials
        acc[1] += c.scored
        acc[2] += c.passed
        acc[3] += c.reward_sum
        acc[4] += c.reward_sq
    by_variant: dict[str, Trend] = {}
    for job in sorted((history.jobs[j] for j in sums), key=lambda j: j.order):
        total, scored, passed, reward, sq = sums[job.id]
        n, k = int(scored), int(passed)
        point = TrendPoint(
            job_id=job.id,
            job=job.name,
            variant=job.variant,
            when=job.when,
            scenario_time=job.scenario_time,
            scored=n,
            passed=k,
            excluded=int(total) - n,
            reward_sum=reward,
            pass_rate=k / n if n else None,
            pass_ci=wilson(k, n),
            reward=reward / n if n else None,
            reward_ci=normal_mean_interval(n, reward, sq),
        )
        by_variant.setdefault(job.variant, Trend(job.variant)).points.append(point)
    return [by_variant[v] for v in sorted(by_variant)]


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


def regressions(
    conn: Connection,
    filters: Filters = Filters(),
    *,
    recent: int = 5,
    baseline: int = 20,
    alpha: float = 0.05,
) -> RegressionReport:
    return regressions_of(
        load_history(conn, filters), recent=recent, baseline=baseline, alpha=alpha
    )


def regressions_of(
    history: History, *, recent: int = 5, baseline: int = 20, alpha: float = 0.05
) -> RegressionReport:
    """Test every task x variant with scored runs in both windows (see the module doc)."""
    series: dict[tuple[str, str], list[Cell]] = defaultdict(list)
    for c in history.cells:
        if c.scored:
            series[(history.jobs[c.job_id].variant, c.task_id)].append(c)
    raw: list[tuple[str, str, str, Window, Window, float, str]] = []
    for (variant, task_id), cells in sorted(series.items()):
        cells.sort(key=lambda c: history.jobs[c.job_id].order)
        recent_cells = cells[-recent:]
        base_cells = cells[:-recent][-baseline:] if len(cells) > recent else []
        if not base_cells:
            continue
        b, r = _window(base_cells), _window(recent_cells)
        p = fisher_less(b.passes, b.runs, r.passes, r.runs)
        last = history.jobs[recent_cells[-1].job_id].name
        raw.append((variant, task_id, cells[-1].category, b, r, p, last))
    adjusted = holm_adjust([p for *_, p, _ in raw])
    tests = [
        RegressionTest(
            variant=v,
            task_id=t,
            category=cat,
            baseline=b,
            recent=r,
            p_value=p,
            adjusted=adj,
            flagged=adj <= alpha and (r.rate or 0.0) < (b.rate or 0.0),
            last_job=last,
        )
        for (v, t, cat, b, r, p, last), adj in zip(raw, adjusted, strict=True)
    ]
    tests.sort(key=lambda t: (not t.flagged, t.adjusted, t.variant, t.task_id))
    return RegressionReport(tests, alpha, recent, baseline)


def _window(cells: list[Cell]) -> Window:
    return Window(len(cells), sum(c.scored for c in cells), sum(c.passed for c in cells))
