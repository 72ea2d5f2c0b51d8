"""The whole synthetic telemetry of the shop: a pure function of (seed, scenario clock).

`generate` runs the traffic simulation, then the infrastructure and datastores that follow
its load, and turns the request counts and latency mixtures into Prometheus counters and
histograms. `render` writes it as OpenMetrics text and log files. Standard library only,
and no clock or environment is read: the same inputs give byte-identical output.
"""

from __future__ import annotations

import math
from datetime import datetime

from opsbench.o11y.datastores import Datastores
from opsbench.o11y.infra import Infra, Load, app_labels, restarts
from opsbench.o11y.model import Series, Telemetry
from opsbench.o11y.scenario import HTTP_SERVICES, SCENARIO, Scenario
from opsbench.o11y.timeline import Timeline, cumulate, lognormal_cdf, rng
from opsbench.o11y.traffic import Route, TrafficSim

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Latency histogram bounds in seconds (Prometheus client defaults)."""


def generate(seed: int, clock: datetime, scenario: Scenario = SCENARIO) -> Telemetry:
    tl = Timeline.build(clock, scenario.history, scenario.step)
    traffic = TrafficSim(seed, tl, scenario).run()
    load = _load(traffic, tl)
    infra = Infra(seed, tl, scenario, load).run()
    stores = Datastores(seed, tl, scenario, load).run()
    telemetry = Telemetry(tl)
    resets = restarts(tl, scenario)
    for route in traffic.routes.values():
        uptime = rng(seed, "uptime", route.service).uniform(3600, 3 * 86400) / tl.step
        telemetry.series += _http_series(route, uptime, resets[route.service])
    telemetry.series += infra.series + stores.series
    telemetry.logs = sorted(traffic.logs + infra.logs + stores.logs, key=lambda e: e.ts_ms)
    return telemetry


def _load(traffic: TrafficSim, tl: Timeline) -> Load:
    steps = range(tl.points)
    load: Load = {
        s: [sum(rt.total(i) for rt in traffic.routes.values() if rt.service == s) for i in steps]
        for s in HTTP_SERVICES
    }
    catalog = traffic.route("gateway", "/api/catalog")
    charge = traffic.route("payments", "/charge")
    load["cache"] = [3 * catalog.total(i) for i in steps]
    # every checkout, charge and order touches the db a few times
    weights = {"checkout": 2, "payments": 3, "orders": 4}
    load["db"] = [sum(w * load[s][i] for s, w in weights.items()) for i in steps]
    load["payments_5xx"] = [charge.by_class(i, 5) for i in steps]
    return load


def _start(increments: list[float], uptime_steps: float) -> float:
    """A counter's value when history begins: its early average rate over its uptime."""
    early = increments[:120]
    return sum(early) / len(early) * uptime_steps


def _http_series(route: Route, uptime: float, resets: frozenset[int]) -> list[Series]:
    base = {"route": route.route, "method": route.method}
    out = []
    for code, counts in route.counts.items():
        incs = [float(v) for v in counts]
        labels = app_labels(route.service, **base, code=str(code))
        values = cumulate(incs, round(_start(incs, uptime)), resets)
        out.append(Series("http_requests_total", labels, values, integer=True))
    bounds = [*BUCKETS, float("inf")]
    per_bucket: list[list[float]] = [[] for _ in bounds]
    sums: list[float] = []
    for components in route.latency:
        for k, le in enumerate(bounds):
            per_bucket[k].append(sum(n * lognormal_cdf(le, m, s) for n, m, s in components))
        sums.append(sum(n * m * _mean_factor(s) for n, m, s in components))
    name = "http_request_duration_seconds"
    for le, incs in zip(bounds, per_bucket, strict=True):
        le_text = "+Inf" if le == float("inf") else str(le)
        values = cumulate(incs, round(_start(incs, uptime)), resets)
        labels = app_labels(route.service, **base, le=le_text)
        out.append(Series(f"{name}_bucket", labels, [round(v) for v in values], integer=True))
    count = cumulate(per_bucket[-1], round(_start(per_bucket[-1], uptime)), resets)
    out.append(Series(f"{name}_count", app_labels(route.service, **base), count, integer=True))
    total = cumulate(sums, _start(sums, uptime), resets)
    out.append(
        Series(f"{name}_sum", app_labels(route.service, **base), [round(v, 3) for v in total])
    )
    return out


def _mean_factor(sigma: float) -> float:
    """Mean over median of a lognormal: exp(sigma²/2)."""
    return math.exp(sigma * sigma / 2)
