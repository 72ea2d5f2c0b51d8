"""A few PromQL functions over generated series, so tests can check the story without
Prometheus: increase (with counter resets) and histogram_quantile."""

from __future__ import annotations

from opsbench.o11y.model import Series, Telemetry


def increase(series: Series, first: int, last: int) -> float:
    """What the counter added over samples (first, last], resets included."""
    total = 0.0
    values = series.values
    for i in range(first + 1, last + 1):
        prev, now = values[i - 1], values[i]
        assert prev is not None and now is not None
        total += now - prev if now >= prev else now
    return total


def errors_by_service(tel: Telemetry, first: int, last: int, klass: str = "5") -> dict[str, float]:
    out: dict[str, float] = {}
    for s in tel.find("http_requests_total"):
        if s.label("code").startswith(klass):
            out[s.label("service")] = out.get(s.label("service"), 0) + increase(s, first, last)
    return out


def quantile(tel: Telemetry, service: str, route: str, first: int, last: int, q: float) -> float:
    """histogram_quantile(q, increase(..._bucket[first, last])) as Prometheus computes it."""
    buckets = sorted(
        (float(s.label("le")), increase(s, first, last))
        for s in tel.find("http_request_duration_seconds_bucket", service=service, route=route)
    )
    rank = q * buckets[-1][1]
    prev_le, prev_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * (rank - prev_count) / (count - prev_count)
        prev_le, prev_count = le, count
    raise AssertionError("empty histogram")
