"""Queues, the cache and the db: the stateful parts of the shop and what they log.

The retry queue fills as payments fails; cache-replica-1 lags (and the hit ratio dips)
exactly in the window the scenario gives; the db archiver fails once a minute from the
moment its volume starts filling, which is the cause an operator should find.
"""

from __future__ import annotations

import math

from opsbench.o11y.infra import Load, app_labels
from opsbench.o11y.model import Labels, LogEntry, Series
from opsbench.o11y.scenario import CacheLag, Scenario
from opsbench.o11y.timeline import Timeline, cumulate, rng


class Datastores:
    def __init__(self, seed: int, tl: Timeline, sc: Scenario, load: Load) -> None:
        self.seed, self.tl, self.sc, self.load = seed, tl, sc, load
        self.times = tl.times
        self.series: list[Series] = []
        self.logs: list[LogEntry] = []

    def run(self) -> Datastores:
        self._queues()
        self._cache()
        self._db()
        return self

    def _add(self, name: str, labels: Labels, values: list[float], integer: bool) -> None:
        self.series.append(Series(name, labels, values, integer))

    def _log(self, ms: int, service: str, level: str, text: str) -> None:
        self.logs.append(LogEntry(ms, service, level, text))

    def _queues(self) -> None:
        """order-events drains in batches every 5 minutes; payment-retries holds retries."""
        r = rng(self.seed, "queues")
        events, retries = [], []
        depth, pending = 0.0, 0.0
        for i, n in enumerate(self.load["orders"]):
            depth = r.uniform(0, 15) if self.tl.ago(i) % 300 == 0 else depth + 0.3 * n
            events.append(float(round(depth)))
            pending = 0.7 * pending + 0.5 * self.load["payments_5xx"][i] + r.uniform(0, 1.5)
            retries.append(float(math.floor(pending)))
        labels = app_labels("orders", queue="order-events")
        self._add("queue_depth", labels, events, True)
        self._add("queue_depth", app_labels("payments", queue="payment-retries"), retries, True)

    # --------------------------------------------------------------------- cache

    def _lag(self, lag: CacheLag, ago: int) -> float:
        """Replica lag (seconds) `ago` seconds before the clock: a rise, a peak, a recovery."""
        start, peak, end = (d.total_seconds() for d in (lag.start_ago, lag.peak_ago, lag.end_ago))
        if not end < ago <= start:
            return lag.normal_lag_seconds
        frac = (start - ago) / (start - peak) if ago > peak else (ago - end) / (peak - end)
        return lag.normal_lag_seconds + (lag.peak_lag_seconds - lag.normal_lag_seconds) * frac

    def _cache(self) -> None:
        lag = self.sc.cache_lag
        r = rng(self.seed, "cache")
        lagging, steady, hits, misses = [], [], [], []
        was_lagging = False
        for i, t in enumerate(self.times):
            ago = self.tl.ago(i)
            value = self._lag(lag, ago) * math.exp(r.gauss(0, 0.05))
            lagging.append(round(value, 3))
            steady.append(round(lag.normal_lag_seconds * math.exp(r.gauss(0, 0.2)), 3))
            dip = (lag.hit_ratio_normal - lag.hit_ratio_during) * min(
                1.0, value / lag.peak_lag_seconds
            )
            ratio = lag.hit_ratio_normal - dip + r.gauss(0, 0.004)
            n = self.load["cache"][i]
            hit = round(n * ratio)
            hits.append(float(hit))
            misses.append(float(n - hit))
            is_lagging = value > 5
            self._cache_logs(t * 1000, ago, lag, value, is_lagging, was_lagging, ratio)
            was_lagging = is_lagging
        base = rng(self.seed, "cache-start").randrange(10**8, 10**9)
        for result, inc in (("hit", hits), ("miss", misses)):
            values = cumulate(inc, round(base * (0.94 if result == "hit" else 0.06)), frozenset())
            self._add("cache_requests_total", app_labels("cache", result=result), values, True)
        for replica, values in ((lag.replica, lagging), ("cache-replica-2", steady)):
            labels = app_labels("cache", replica=replica)
            self._add("cache_replication_lag_seconds", labels, values, False)

    def _cache_logs(
        self, ms: int, ago: int, lag: CacheLag, value: float, now: bool, before: bool, ratio: float
    ) -> None:
        replica = lag.replica
        if ago == int(lag.start_ago.total_seconds()):
            self._log(
                ms + 500,
                "cache",
                "warn",
                f'replica={replica} msg="replica link down, starting full resync"',
            )
        if now and ago % 60 == 0:
            text = f'replica={replica} lag_seconds={value:.1f} msg="replica lagging behind primary"'
            self._log(ms, "cache", "warn", text)
        if before and not now:
            self._log(ms, "cache", "info", f'replica={replica} msg="replica caught up"')
        if ago % 300 == 0:
            self._log(ms, "cache", "info", f'hit_ratio={ratio:.3f} msg="stats"')

    # ------------------------------------------------------------------------ db

    def _db(self) -> None:
        fill = self.sc.disk_fill
        r = rng(self.seed, "db")
        step = self.tl.step
        active, idle, failures = [], [], []
        for i, t in enumerate(self.times):
            ago = self.tl.ago(i)
            n = self.load["db"][i]
            busy = max(2.0, 6 + 0.25 * n / step + r.gauss(0, 1.5))
            active.append(float(round(busy)))
            idle.append(float(max(0, 60 - round(busy))))
            failing = ago < fill.start_ago.total_seconds()
            failures.append(1.0 if failing and ago % 60 == 0 else 0.0)
            if failures[-1]:
                segment = f"00000001000004A2{(t // 60) % 0x100000000:08X}"
                self._log(
                    t * 1000 + 250,
                    "db",
                    "error",
                    f'segment={segment} detail="archive destination unreachable" '
                    'msg="archive command failed"',
                )
            if ago % 300 == 0:
                text = f'wrote_buffers={r.randrange(2000, 9000)} msg="checkpoint complete"'
                self._log(t * 1000 + 40, "db", "info", text)
        queries = cumulate([float(n) for n in self.load["db"]], 7.3e9, frozenset())
        self._add("db_queries_total", app_labels("db"), queries, True)
        self._add("db_connections", app_labels("db", state="active"), active, True)
        self._add("db_connections", app_labels("db", state="idle"), idle, True)
        self._add("db_max_connections", app_labels("db"), [200.0] * self.tl.points, True)
        archived = cumulate(failures, 3.0, frozenset())
        self._add("pg_stat_archiver_failed_count", app_labels("db"), archived, True)
