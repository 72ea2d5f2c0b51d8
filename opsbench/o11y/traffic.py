"""HTTP traffic of gateway, checkout, payments and orders: counts, latencies and their logs.

One pass over the timeline simulates every request path together, so the services agree
with each other and with their logs: each 5xx is one `level=error` line in the service
that answered it, carrying a request id that the upstream services' lines repeat. A
payments failure is retried once by checkout; only a failed retry becomes a 502 in
checkout and gateway, which is why payments tops the 5xx ranking during the incident.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from opsbench.o11y.model import LogEntry
from opsbench.o11y.scenario import Scenario
from opsbench.o11y.timeline import Timeline, binomial, diurnal, lognormal_cdf, poisson, rng

Component = tuple[float, float, float]
"""(requests, median seconds, sigma): one lognormal part of a latency distribution."""


@dataclass
class Route:
    service: str
    route: str
    method: str
    codes: tuple[int, ...]
    counts: dict[int, list[int]] = field(default_factory=dict)
    latency: list[list[Component]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.counts = {code: [] for code in self.codes}

    def record(self, counts: dict[int, int], latency: Sequence[Component]) -> None:
        for code in self.codes:
            self.counts[code].append(counts.get(code, 0))
        self.latency.append([c for c in latency if c[0] > 0])

    def total(self, i: int) -> int:
        return sum(v[i] for v in self.counts.values())

    def by_class(self, i: int, first_digit: int) -> int:
        return sum(v[i] for code, v in self.counts.items() if code // 100 == first_digit)

    def slow(self, i: int, threshold: float = 1.0) -> float:
        return sum(n * (1 - lognormal_cdf(threshold, m, s)) for n, m, s in self.latency[i])


def _routes() -> dict[str, Route]:
    specs = [
        ("gateway", "/api/catalog", "GET", (200, 404, 500, 503)),
        ("gateway", "/api/checkout", "POST", (200, 400, 402, 500, 502, 503)),
        ("gateway", "/api/orders", "GET", (200, 400, 404, 429, 500, 503)),
        ("checkout", "/checkout", "POST", (200, 400, 402, 500, 502)),
        ("payments", "/charge", "POST", (200, 402, 500, 503)),
        ("payments", "/refund", "POST", (200, 500)),
        ("orders", "/orders/{id}", "GET", (200, 404, 429, 500)),
        ("orders", "/orders", "POST", (200, 400, 429, 500)),
    ]
    return {f"{s}{r}": Route(s, r, m, c) for s, r, m, c in specs}


def _shift(components: Sequence[Component], seconds: float) -> list[Component]:
    """The same requests seen from one hop upstream: a little slower."""
    return [(n, m + seconds, s) for n, m, s in components]


class TrafficSim:
    """Simulates every step in order; `routes` and `logs` hold the result."""

    def __init__(self, seed: int, timeline: Timeline, scenario: Scenario) -> None:
        self.tl, self.sc, self.seed = timeline, scenario, seed
        self.r = rng(seed, "traffic")
        self.routes = _routes()
        self.logs: list[LogEntry] = []
        self.times = timeline.times
        self.orders_404 = 0.08
        spike, reg = scenario.error_spike, scenario.latency_regression
        self.spike_start = timeline.index_after(spike.ago)
        self.regression_start = timeline.index_after(reg.ago)
        service, start, length, self.blip_ratio = scenario.blip
        self.blip_service = service
        self.blip = range(timeline.index_after(start), timeline.index_after(start - length))

    def run(self) -> TrafficSim:
        for i in range(self.tl.points):
            self._step(i)
        return self

    def route(self, service: str, path: str) -> Route:
        return self.routes[f"{service}{path}"]

    # ------------------------------------------------------------------ one step

    def _step(self, i: int) -> None:
        d = diurnal(self.times[i])
        gw503 = self.blip_ratio if i in self.blip else 0.0
        self._catalog(i, d, gw503)
        self._checkout(i, d, gw503)
        self._orders(i, d, gw503)
        self._refund(i, d)
        if self.tl.ago(i) % 60 == 0 and i > 0:
            self._summaries(i)

    def _log(self, ms: int, service: str, level: str, text: str) -> None:
        self.logs.append(LogEntry(ms, service, level, text))

    def _moment(self, i: int, reserve_ms: int = 0) -> int:
        """A millisecond inside step i's interval, `reserve_ms` before its end at most."""
        end = self.times[i] * 1000
        return end - self.tl.step * 1000 + 1 + self.r.randrange(self.tl.step * 1000 - reserve_ms)

    def _rid(self) -> str:
        return f"{self.r.getrandbits(64):016x}"

    def _jitter(self, sigma: float = 0.04) -> float:
        return math.exp(self.r.gauss(0, sigma))

    def _server_errors(
        self, i: int, service: str, route: Route, n: int, msg: str, via_gateway: str | None
    ) -> None:
        """n own 500s: an error line each, mirrored by gateway when it fronted them."""
        for _ in range(n):
            rid, ms = self._rid(), self._moment(i, 1000)
            dur = 40 + self.r.randrange(200)
            self._log(
                ms,
                service,
                "error",
                f"request_id={rid} method={route.method} route={route.route} status=500 "
                f'duration_ms={dur} msg="{msg}"',
            )
            if via_gateway:
                self._log(
                    ms + 3,
                    "gateway",
                    "error",
                    f"request_id={rid} method={route.method} route={via_gateway} status=500 "
                    f'upstream={service} duration_ms={dur + 3} msg="upstream returned error"',
                )

    def _gateway_rejects(self, i: int, path: str, method: str, n: int) -> None:
        for _ in range(n):
            self._log(
                self._moment(i),
                "gateway",
                "error",
                f"request_id={self._rid()} method={method} route={path} status=503 "
                'duration_ms=2 msg="service unavailable: instance draining during rollout"',
            )

    def _catalog(self, i: int, d: float, gw503: float) -> None:
        r, step = self.r, self.tl.step
        n = poisson(r, 18.0 * d * step)
        own503 = binomial(r, n, gw503)
        k404 = binomial(r, n - own503, 0.003)
        k500 = binomial(r, n - own503 - k404, 0.0002)
        ok = n - own503 - k404 - k500
        route = self.route("gateway", "/api/catalog")
        route.record(
            {200: ok, 404: k404, 500: k500, 503: own503},
            [
                (ok, 0.018 * self._jitter(), 0.5),
                (k404, 0.004, 0.3),
                (k500 + own503, 0.03, 0.3),
            ],
        )
        self._server_errors(i, "gateway", route, k500, "template render failed: catalog", None)
        self._gateway_rejects(i, route.route, route.method, own503)

    def _spike_ratio(self, i: int) -> float:
        if i < self.spike_start:
            return 0.0
        spike = self.sc.error_spike
        elapsed = (i - self.spike_start + 1) * self.tl.step
        ramp = min(1.0, elapsed / spike.ramp.total_seconds())
        return min(0.95, max(0.0, spike.failure_ratio * ramp * (1 + self.r.gauss(0, 0.08))))

    def _checkout(self, i: int, d: float, gw503: float) -> None:
        r, step = self.r, self.tl.step
        n = poisson(r, 5.0 * d * step)
        own503 = binomial(r, n, gw503)
        n -= own503
        k400 = binomial(r, n, 0.01)
        k500 = binomial(r, n - k400, 0.0003)
        calls = n - k400 - k500
        p_timeout = self._spike_ratio(i)
        q = p_timeout + 0.0005
        reg = self.sc.latency_regression
        after = i >= self.regression_start
        med = (reg.median_after_s if after else reg.median_before_s) * self._jitter()
        sig = reg.sigma_after if after else reg.sigma_before
        f1 = binomial(r, calls, q)
        f2 = binomial(r, f1, q)
        outcome = self._payment_failures(i, f1, f2, p_timeout / q if q else 0.0, med)
        first_ok = calls - f1
        d1 = binomial(r, first_ok, 0.02)
        d2 = binomial(r, f1 - f2, 0.02)
        ok = first_ok - d1 + (f1 - f2 - d2)
        pay_ok: list[Component] = [(first_ok + f1 - f2, 0.08 * self._jitter(), 0.3)]
        self.route("payments", "/charge").record(
            {200: ok, 402: d1 + d2, 500: outcome.failed_500, 503: outcome.failed_503},
            pay_ok + outcome.payments_latency,
        )
        checkout_counts = {200: ok, 400: k400, 402: d1 + d2, 500: k500, 502: f2}
        checkout_latency = [
            (first_ok, med, sig),
            (k400, 0.01, 0.3),
            (k500, 0.2, 0.5),
            *outcome.checkout_latency,
        ]
        checkout = self.route("checkout", "/checkout")
        checkout.record(checkout_counts, checkout_latency)
        self.route("gateway", "/api/checkout").record(
            {**checkout_counts, 503: own503},
            [*_shift(checkout_latency, 0.004), (own503, 0.002, 0.3)],
        )
        self._server_errors(
            i, "checkout", checkout, k500, "unexpected error: cart lock timeout", "/api/checkout"
        )
        self._gateway_rejects(i, "/api/checkout", "POST", own503)

    def _payment_failures(
        self, i: int, f1: int, f2: int, timeout_share: float, checkout_median: float
    ) -> _PaymentOutcome:
        """Failed charge attempts (f1 first attempts, f2 of them failing again on retry)."""
        out = _PaymentOutcome()
        upstream = self.sc.error_spike.upstream
        for j in range(f1):
            rid = self._rid()
            start = self._moment(i, 11_500)
            attempts = 2 if j < f2 else 1
            ms = start
            for attempt in (1, 2)[:attempts]:
                timeout = self.r.random() < timeout_share
                dur = 5000 + self.r.randrange(30) if timeout else 60 + self.r.randrange(140)
                ms += dur + (100 if attempt == 2 else 0)
                out.add_failure(timeout, dur)
                detail = (
                    f'upstream={upstream} msg="{upstream} timeout after 5000ms"'
                    if timeout
                    else 'msg="unexpected error: ledger write conflict"'
                )
                self._log(
                    ms,
                    "payments",
                    "error",
                    f"request_id={rid} method=POST route=/charge status={503 if timeout else 500} "
                    f"attempt={attempt} duration_ms={dur} {detail}",
                )
            retried_ok = 0.0 if attempts == 2 else 0.18  # backoff and a successful retry
            total_s = (ms - start) / 1000 + retried_ok + checkout_median
            out.checkout_latency.append((1, total_s, 0.02))
            if attempts == 2:
                self._log(
                    ms + 15,
                    "checkout",
                    "error",
                    f"request_id={rid} method=POST route=/checkout status=502 "
                    f"duration_ms={round(total_s * 1000)} upstream=payments "
                    'msg="payment failed after 2 attempts"',
                )
                self._log(
                    ms + 19,
                    "gateway",
                    "error",
                    f"request_id={rid} method=POST route=/api/checkout status=502 "
                    f"upstream=checkout duration_ms={round(total_s * 1000) + 4} "
                    'msg="upstream returned error"',
                )
            else:
                self._log(
                    ms + 200,
                    "checkout",
                    "warn",
                    f'request_id={rid} route=/checkout upstream=payments msg="payment attempt '
                    'failed, retry succeeded"',
                )
        return out

    def _orders(self, i: int, d: float, gw503: float) -> None:
        r, step = self.r, self.tl.step
        burst = _burst_factor(self.seed, self.times[i])
        noise = self._jitter(0.18) * burst
        self.orders_404 = min(0.14, max(0.04, self.orders_404 + r.gauss(0, 0.004)))
        r429 = 0.18 if burst > 1 else 0.003
        gw_counts: dict[int, int] = {}
        gw_latency: list[Component] = []
        for path, rate, r4xx, c4xx, med in (
            ("/orders/{id}", 9.0, self.orders_404, 404, 0.025),
            ("/orders", 3.0, 0.01, 400, 0.06),
        ):
            n = poisson(r, rate * d * noise * step)
            own503 = binomial(r, n, gw503)
            n -= own503
            k429 = binomial(r, n, r429)
            k4xx = binomial(r, n - k429, r4xx)
            k500 = binomial(r, n - k429 - k4xx, 0.0003)
            ok = n - k429 - k4xx - k500
            counts = {200: ok, c4xx: k4xx, 429: k429, 500: k500}
            median = med * self._jitter(0.2) * (1.6 if burst > 1 else 1.0)
            latency = [(ok, median, 0.6), (k4xx, 0.01, 0.4), (k429, 0.001, 0.2), (k500, 0.1, 0.5)]
            route = self.route("orders", path)
            route.record(counts, latency)
            for code, v in counts.items():
                gw_counts[code] = gw_counts.get(code, 0) + v
            gw_counts[503] = gw_counts.get(503, 0) + own503
            gw_latency += [*_shift(latency, 0.003), (own503, 0.002, 0.3)]
            msg = "unhandled exception: KeyError 'currency' in order serializer"
            self._server_errors(i, "orders", route, k500, msg, "/api/orders")
            self._gateway_rejects(i, "/api/orders", route.method, own503)
        self.route("gateway", "/api/orders").record(gw_counts, gw_latency)

    def _refund(self, i: int, d: float) -> None:
        n = poisson(self.r, 0.2 * d * self.tl.step)
        k500 = binomial(self.r, n, 0.001)
        route = self.route("payments", "/refund")
        route.record({200: n - k500, 500: k500}, [(n - k500, 0.1, 0.3), (k500, 0.1, 0.3)])
        self._server_errors(i, "payments", route, k500, "unexpected error: refund ledger", None)

    def _summaries(self, i: int) -> None:
        """Once a minute, each service logs what it served in the last minute."""
        ms = self.times[i] * 1000
        for service in ("gateway", "checkout", "payments", "orders"):
            routes = [rt for rt in self.routes.values() if rt.service == service]
            steps = (i - 1, i)
            total = sum(rt.total(j) for rt in routes for j in steps)
            classes = [sum(rt.by_class(j, k) for rt in routes for j in steps) for k in (2, 4, 5)]
            slow = round(sum(rt.slow(j) for rt in routes for j in steps))
            self._log(
                ms,
                service,
                "info",
                f"window=60s requests={total} status_2xx={classes[0]} status_4xx={classes[1]} "
                f'status_5xx={classes[2]} slow_over_1s={slow} msg="request stats"',
            )
            if service == "checkout" and slow:
                self._log(
                    ms + 1,
                    service,
                    "warn",
                    f'route=/checkout count={slow} threshold_ms=1000 msg="slow requests"',
                )
            if service == "orders":
                self._orders_warnings(ms, routes, steps)

    def _orders_warnings(self, ms: int, routes: list[Route], steps: tuple[int, int]) -> None:
        for rt in routes:
            for code in (404, 400, 429):
                if code not in rt.counts:
                    continue
                count = sum(rt.counts[code][j] for j in steps)
                if not count:
                    continue
                msg = "rate limit exceeded" if code == 429 else "client errors"
                self._log(
                    ms + 2,
                    "orders",
                    "warn",
                    f'route={rt.route} status={code} count={count} window=60s msg="{msg}"',
                )


@dataclass
class _PaymentOutcome:
    failed_503: int = 0
    failed_500: int = 0
    payments_latency: list[Component] = field(default_factory=list)
    checkout_latency: list[Component] = field(default_factory=list)

    def add_failure(self, timeout: bool, dur_ms: int) -> None:
        if timeout:
            self.failed_503 += 1
        else:
            self.failed_500 += 1
        self.payments_latency.append((1, dur_ms / 1000, 0.01))


def _burst_factor(seed: int, t: int) -> float:
    """orders' traffic bursts: most hours have one, 2-6 minutes at 2.2-3x (absolute time)."""
    hour = t // 3600
    r = random.Random(f"{seed}|orders-burst|{hour}")
    if r.random() > 0.7:
        return 1.0
    start = hour * 3600 + r.randrange(0, 3300)
    length = r.randrange(120, 361)
    return r.uniform(2.2, 3.0) if start <= t < start + length else 1.0
