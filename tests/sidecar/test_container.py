"""The real sidecar: built image, backfilled blocks, Prometheus queried over HTTP at the
scenario time, the log server, and the log files in a task container."""

from __future__ import annotations

import io
import tarfile
import urllib.error
from datetime import timedelta

import pytest

from opsbench.o11y import MAIN_LOG_DIR, SCENARIO, SERVICES, SIDECAR_DATA_DIR, O11yData
from tests.sidecar.conftest import CLOCK, JOB, Rendered, Sidecar

pytestmark = pytest.mark.docker

FIVE_XX = 'http_requests_total{code=~"5.."}'


def _ranking(result: list[dict[str, object]]) -> list[str]:
    def value(r: dict[str, object]) -> float:
        v = r["value"]
        assert isinstance(v, list)
        return float(v[1])

    ranked = sorted(result, key=value, reverse=True)
    return [str(r["metric"]["service"]) for r in ranked]  # type: ignore[index]


def test_payments_tops_the_error_ranking_at_the_scenario_time(sidecar: Sidecar) -> None:
    result = sidecar.query(f"sum by (service) (rate({FIVE_XX}[5m]))", CLOCK)
    ranking = _ranking(result)
    assert ranking[0] == SCENARIO.error_spike.service
    assert set(ranking) == {"gateway", "checkout", "payments", "orders"}
    ratio = sidecar.query(
        'sum(rate(http_requests_total{service="payments",route="/charge",code="503"}[5m]))'
        ' / sum(rate(http_requests_total{service="payments",route="/charge"}[5m]))',
        CLOCK,
    )
    assert 0.3 < float(ratio[0]["value"][1]) < 0.5
    before = sidecar.query(
        'sum(rate(http_requests_total{service="payments",code="503"}[5m]))',
        CLOCK - timedelta(hours=1),
    )
    assert float(before[0]["value"][1]) == 0


def test_history_spans_the_day_before_the_clock(sidecar: Sidecar) -> None:
    start = CLOCK - timedelta(hours=24)
    series = sidecar.query_range(
        f"sum by (service) (increase({FIVE_XX}[5m]))", start, CLOCK, "300s"
    )
    totals = {s["metric"]["service"]: sum(float(v) for _, v in s["values"]) for s in series}
    assert max(totals, key=lambda s: totals[s]) == "payments"
    up = sidecar.query("count(up)", CLOCK - timedelta(hours=23))
    assert float(up[0]["value"][1]) == len(SERVICES)
    points = sidecar.query_range("count(up)", start, CLOCK, "600s")
    assert len(points[0]["values"]) == 24 * 6 + 1  # a value at every step, none missing


def test_latency_regression_and_deploy_are_queryable(sidecar: Sidecar) -> None:
    p99 = (
        "histogram_quantile(0.99, sum by (le) (rate("
        'http_request_duration_seconds_bucket{service="checkout",route="/checkout"}[30m])))'
    )
    deploy = SCENARIO.deploy("checkout", "2.8.0").at(CLOCK)
    before = float(sidecar.query(p99, deploy - timedelta(minutes=5))[0]["value"][1])
    after = float(sidecar.query(p99, deploy + timedelta(minutes=40))[0]["value"][1])
    assert after > 2 * before
    changes = sidecar.query(
        'increase(deployments_total{service="checkout"}[10m])', deploy + timedelta(minutes=5)
    )
    assert float(changes[0]["value"][1]) > 0.5
    version = sidecar.query('app_build_info{service="checkout"}', CLOCK)
    assert [r["metric"]["version"] for r in version] == ["2.8.0"]


def test_disk_fill_and_cache_lag_are_queryable(sidecar: Sidecar) -> None:
    fill = SCENARIO.disk_fill
    avail = f'node_filesystem_avail_bytes{{mountpoint="{fill.mountpoint}"}}'
    predicted = sidecar.query(f"predict_linear({avail}[6h], {fill.full_in.total_seconds()})", CLOCK)
    assert abs(float(predicted[0]["value"][1])) < 0.01 * fill.size_bytes
    lag = SCENARIO.cache_lag
    peak = sidecar.query(
        f'max_over_time(cache_replication_lag_seconds{{replica="{lag.replica}"}}[24h])', CLOCK
    )
    assert float(peak[0]["value"][1]) > 0.8 * lag.peak_lag_seconds
    now = sidecar.query(f'cache_replication_lag_seconds{{replica="{lag.replica}"}}', CLOCK)
    assert float(now[0]["value"][1]) < 1


def test_log_server_serves_the_same_story(sidecar: Sidecar, rendered: Rendered) -> None:
    assert sidecar.get_logs("/logs/").split() == sorted(f"{s}.log" for s in SERVICES)
    assert sidecar.get_logs("/logs/payments.log").encode() == rendered.logs["payments.log"]
    since = (CLOCK - SCENARIO.error_spike.ago).strftime("%Y-%m-%dT%H:%M:%SZ")
    errors = sidecar.get_logs(
        f"/logs/payments.log?level=error&since={since}&grep=card-processor"
    ).splitlines()
    assert len(errors) > 100
    assert all("status=503" in line and line[:20] >= since[:19] for line in errors)
    tail = sidecar.get_logs("/logs/gateway.log?tail=3&grep=status=502").splitlines()
    assert len(tail) == 3 and all("upstream=checkout" in line for line in tail)
    with pytest.raises(urllib.error.HTTPError):
        sidecar.get_logs("/logs/../../etc/passwd")


def _names(archive: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return tar.getnames()


def test_archives_have_the_layout_the_runtime_extracts(o11y_data: O11yData) -> None:
    (side,) = o11y_data.sidecar
    assert side.path == SIDECAR_DATA_DIR
    names = _names(side.data)
    assert "scenario_time" in names and any(n.endswith("/meta.json") for n in names)
    assert all(n.split("/")[0] in ("tsdb", "logs", "scenario_time") for n in names)
    (main,) = o11y_data.main
    members = _names(main.data)
    assert sorted(f"{main.path}/{m}" for m in members if m.endswith(".log")) == sorted(
        f"{MAIN_LOG_DIR}/{s}.log" for s in SERVICES
    )


def test_log_files_land_in_a_task_container(o11y_data: O11yData, rendered: Rendered) -> None:
    from opsbench.builtin_images import TASK_BASE
    from opsbench.runtime.docker import client, labels

    container = client().containers.create(
        TASK_BASE, command=["sleep", "60"], labels=labels(JOB, "main-logs", "main")
    )
    try:
        for archive in o11y_data.main:
            assert container.put_archive(archive.path, archive.data)
        container.start()
        out = container.exec_run(["sh", "-c", f"ls {MAIN_LOG_DIR}; wc -l < {MAIN_LOG_DIR}/db.log"])
        assert out.exit_code == 0
        *files, lines = out.output.decode().split()
        assert files == sorted(f"{s}.log" for s in SERVICES)
        assert int(lines) == rendered.logs["db.log"].count(b"\n")
    finally:
        container.remove(force=True)
