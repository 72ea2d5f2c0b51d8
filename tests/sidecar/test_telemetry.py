"""The synthetic telemetry without Docker: deterministic, 24h+ long, and telling the story
that `SCENARIO` says, in metrics and logs alike."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from datetime import timedelta

from opsbench.o11y import SCENARIO, SERVICES, render
from opsbench.o11y.model import Telemetry
from opsbench.o11y.telemetry import generate
from opsbench.o11y.timeline import iso_ms
from tests.sidecar.conftest import CLOCK, Rendered
from tests.sidecar.series_math import errors_by_service, increase, quantile

FIVE_MIN = 10  # samples (30 s each)
HALF_HOUR = 60


def test_same_inputs_give_byte_identical_output(rendered: Rendered) -> None:
    again = generate(0, CLOCK)
    assert render.openmetrics(again) == rendered.openmetrics
    assert render.logs(again) == rendered.logs


def test_another_clock_shifts_the_data(telemetry: Telemetry, rendered: Rendered) -> None:
    later = generate(0, CLOCK + timedelta(hours=1))
    assert later.timeline.times == [t + 3600 for t in telemetry.timeline.times]
    assert render.openmetrics(later) != rendered.openmetrics
    spike = later.timeline.index_after(SCENARIO.error_spike.ago)
    assert later.timeline.times[spike] == int(CLOCK.timestamp()) + 3600 - 20 * 60 + 30


def test_another_seed_changes_noise_not_the_story(rendered: Rendered) -> None:
    other = generate(1, CLOCK)
    assert render.openmetrics(other) != rendered.openmetrics
    last = other.timeline.points - 1
    ranking = errors_by_service(other, last - FIVE_MIN, last)
    assert max(ranking, key=lambda s: ranking[s]) == "payments"


def test_history_covers_24_hours_before_the_clock(telemetry: Telemetry, rendered: Rendered) -> None:
    times = telemetry.timeline.times
    assert times[-1] == int(CLOCK.timestamp())
    assert times[-1] - times[0] >= 24 * 3600 + 300
    assert all(b - a == 30 for a, b in itertools.pairwise(times))
    lines = rendered.openmetrics.decode().splitlines()
    assert lines[-1] == "# EOF"
    assert {s.label("service") for s in telemetry.series if s.name == "up"} == set(SERVICES)
    for log in rendered.logs.values():
        first = log.decode().splitlines()[0]
        assert first[:24] >= "2026-03-13T08:30:00.000Z"


def test_payments_error_spike_starts_when_the_ground_truth_says(telemetry: Telemetry) -> None:
    tl, spike = telemetry.timeline, SCENARIO.error_spike
    start = tl.index_after(spike.ago)
    (charge_503,) = telemetry.find("http_requests_total", service="payments", code="503")
    per_step = [increase(charge_503, i - 1, i) for i in range(1, tl.points)]
    first_failure = next(i + 1 for i, v in enumerate(per_step) if v > 0)
    assert first_failure == start
    last = tl.points - 1
    now = errors_by_service(telemetry, last - FIVE_MIN, last)
    assert max(now, key=lambda s: now[s]) == spike.service
    assert now["payments"] > 2 * now["gateway"] > 0
    window = (last - FIVE_MIN, last)
    (checkout_502,) = telemetry.find("http_requests_total", service="checkout", code="502")
    (gateway_502,) = telemetry.find("http_requests_total", route="/api/checkout", code="502")
    assert increase(checkout_502, *window) == increase(gateway_502, *window)  # failed retries
    assert now["orders"] < 5
    before = errors_by_service(telemetry, start - 1 - HALF_HOUR, start - 1)
    assert before["payments"] < 10
    total = sum(
        increase(s, last - FIVE_MIN, last)
        for s in telemetry.find("http_requests_total", service="payments", route="/charge")
    )
    assert 0.3 < now["payments"] / total < 0.5  # about failure_ratio of attempts


def test_payments_tops_the_24h_error_ranking(telemetry: Telemetry) -> None:
    last = telemetry.timeline.points - 1
    day = errors_by_service(telemetry, last - 2880, last)
    assert max(day, key=lambda s: day[s]) == "payments"


def test_checkout_latency_regresses_at_its_deploy_and_errors_do_not(telemetry: Telemetry) -> None:
    tl, reg = telemetry.timeline, SCENARIO.latency_regression
    deploy = tl.index_after(SCENARIO.deploy(reg.service, reg.version).ago)
    assert deploy == tl.index_after(reg.ago)
    before = quantile(telemetry, "checkout", reg.route, deploy - 1 - HALF_HOUR, deploy - 1, 0.99)
    after = quantile(
        telemetry, "checkout", reg.route, deploy + HALF_HOUR, deploy + 2 * HALF_HOUR, 0.99
    )
    assert before < 0.5 < 0.8 < after
    assert after > 2 * before
    errors_before = errors_by_service(telemetry, deploy - 1 - HALF_HOUR, deploy - 1)["checkout"]
    errors_after = errors_by_service(telemetry, deploy + HALF_HOUR, deploy + 2 * HALF_HOUR)
    assert errors_after["checkout"] <= errors_before + 3
    versions = {
        s.label("version"): [i for i, v in enumerate(s.values) if v is not None]
        for s in telemetry.find("app_build_info", service="checkout")
    }
    assert versions["2.7.3"][-1] == deploy - 1 and versions["2.8.0"][0] == deploy
    (deploys,) = telemetry.find("deployments_total", service="checkout")
    assert increase(deploys, 0, tl.points - 1) == 1
    assert increase(deploys, deploy - 1, deploy) == 1


def test_cache_replica_lags_only_in_its_window(telemetry: Telemetry) -> None:
    tl, lag = telemetry.timeline, SCENARIO.cache_lag
    (series,) = telemetry.find("cache_replication_lag_seconds", replica=lag.replica)
    values = [float(v or 0) for v in series.values]
    peak = max(range(tl.points), key=lambda i: values[i])
    assert abs(tl.ago(peak) - lag.peak_ago.total_seconds()) <= 300
    assert values[peak] > 0.8 * lag.peak_lag_seconds
    assert values[-1] < 1 and values[tl.index_after(lag.start_ago) - 2] < 1
    assert max(values[tl.index_after(lag.end_ago) + 1 :]) < 1
    (other,) = telemetry.find("cache_replication_lag_seconds", replica="cache-replica-2")
    assert max(float(v or 0) for v in other.values) < 1


def test_db_volume_fills_to_the_ground_truth(telemetry: Telemetry) -> None:
    tl, fill = telemetry.timeline, SCENARIO.disk_fill
    (avail,) = telemetry.find("node_filesystem_avail_bytes", mountpoint=fill.mountpoint)
    used = [1 - float(v or 0) / fill.size_bytes for v in avail.values]
    assert abs(used[-1] - fill.used_ratio_at_clock) < 0.005
    start = tl.index_after(fill.start_ago)
    assert abs(used[start - 5] - fill.used_ratio_before) < 0.005
    # predict_linear over the last 6 hours
    window = 720
    slope = (used[-1] - used[-1 - window]) / (window * tl.step)
    full_in = (1 - used[-1]) / slope
    assert abs(full_in - fill.full_in.total_seconds()) < 0.1 * fill.full_in.total_seconds()
    for service in SERVICES:
        (root,) = telemetry.find("node_filesystem_avail_bytes", service=service, mountpoint="/")
        assert float(root.values[-1] or 0) > 0.4 * 100 * 1024**3


def test_orders_is_noisy_but_harmless(telemetry: Telemetry) -> None:
    last = telemetry.timeline.points - 1
    day = (last - 2880, last)
    client_errors = errors_by_service(telemetry, *day, klass="4")
    backends = {s: v for s, v in client_errors.items() if s != "gateway"}
    assert max(backends, key=lambda s: backends[s]) == SCENARIO.noisy.service
    assert errors_by_service(telemetry, *day)["orders"] < 0.001 * sum(
        increase(s, *day) for s in telemetry.find("http_requests_total", service="orders")
    )


def _error_lines(log: str) -> list[str]:
    return [
        ln for ln in log.splitlines() if " level=error " in ln and re.search(r" status=5\d\d ", ln)
    ]


def test_every_5xx_is_an_error_line_in_its_service(
    telemetry: Telemetry, rendered: Rendered
) -> None:
    last = telemetry.timeline.points - 1
    totals = errors_by_service(telemetry, 0, last)
    first = iso_ms(telemetry.timeline.times[0] * 1000)
    for service in ("gateway", "checkout", "payments", "orders"):
        log = rendered.logs[f"{service}.log"].decode()
        lines = [ln for ln in _error_lines(log) if ln[:24] > first]
        assert len(lines) == totals[service], service


def test_logs_tell_the_same_story(rendered: Rendered) -> None:
    logs = {name.removesuffix(".log"): data.decode() for name, data in rendered.logs.items()}
    for text in logs.values():
        stamps = [ln[:24] for ln in text.splitlines()]
        assert stamps == sorted(stamps)
    spike_start = _iso(int((CLOCK - SCENARIO.error_spike.ago).timestamp()))
    timeouts = [ln for ln in _error_lines(logs["payments"]) if "card-processor timeout" in ln]
    assert timeouts and min(ln[:19] for ln in timeouts) >= spike_start
    gateway_502 = {
        _rid(ln)
        for ln in _error_lines(logs["gateway"])
        if "status=502" in ln and ln[:19] >= spike_start
    }
    payments_rids = Counter(_rid(ln) for ln in _error_lines(logs["payments"]))
    assert gateway_502 and all(payments_rids[r] == 2 for r in gateway_502)  # both attempts
    deploy = _iso(int(SCENARIO.deploy("checkout", "2.8.0").at(CLOCK).timestamp()))
    flag = [ln for ln in logs["checkout"].splitlines() if "fraud_check_sync" in ln]
    assert len(flag) == 1 and flag[0][:16] == deploy[:16]
    lagging = [ln for ln in logs["cache"].splitlines() if "replica lagging" in ln]
    lag = SCENARIO.cache_lag
    assert lagging
    assert min(ln[:19] for ln in lagging) >= _iso(int((CLOCK - lag.start_ago).timestamp()))
    assert max(ln[:19] for ln in lagging) <= _iso(int((CLOCK - lag.end_ago).timestamp()))
    archive = [ln for ln in logs["db"].splitlines() if "archive command failed" in ln]
    assert min(ln[:19] for ln in archive) >= _iso(
        int((CLOCK - SCENARIO.disk_fill.start_ago).timestamp())
    )
    assert len(archive) == SCENARIO.disk_fill.start_ago.total_seconds() // 60


def _rid(line: str) -> str:
    match = re.search(r"request_id=(\w+)", line)
    assert match, line
    return match.group(1)


def _iso(unix: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%S")
