"""Trends and regression alarms over a scripted history, on both backends."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from opsbench.cli import main
from opsbench.metrics import fisher_less, holm_adjust
from opsbench.store.engine import Store
from opsbench.store.ingest import ingest_job
from opsbench.store.trends import Filters, regressions, trends
from tests.store.store_jobs import FAIL, INFRA, PASS, PROVIDER, T0, regression_history, write_job


def test_a_scripted_regression_is_flagged_and_fails_the_gate(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for job_dir in regression_history(tmp_path / "jobs"):
        ingest_job(store, job_dir)
    code = main(["trends", "--fail-on-regression"])
    out = capsys.readouterr().out
    assert code == 1
    assert "regressions: 1 flagged of 2 task x variant tests" in out
    line = next(x for x in out.splitlines() if "REGRESSION" in x)
    assert "openai-gpt-test-low · nginx-502" in line
    assert "baseline 15/15 passed over 5 jobs (100.0%) → recent 0/15 over 5 jobs (0.0%)" in line
    assert "p = 6.4e-09, adjusted p = 1.3e-08" in line
    # Without the flag the same store only reports; a healthy task alone passes the gate.
    assert main(["trends"]) == 0
    assert main(["trends", "--task", "disk-full", "--fail-on-regression"]) == 0
    assert "regressions: 0 flagged of 1" in capsys.readouterr().out


def test_trend_points_leave_infra_and_provider_failures_out(store: Store, tmp_path: Path) -> None:
    for i, attempts in enumerate(([PASS, FAIL, INFRA, PROVIDER], [PASS, PASS, INFRA, INFRA])):
        job_dir = tmp_path / f"run-{i}" / "job"
        write_job(job_dir, {"nginx-502": attempts}, started=T0 + timedelta(days=i))
        ingest_job(store, job_dir)
    with store.read() as conn:
        (trend,) = trends(conn)
    assert trend.variant == "openai-gpt-test-low"
    first, second = trend.points
    assert (first.scored, first.passed, first.excluded, first.pass_rate) == (2, 1, 2, 0.5)
    assert (second.scored, second.passed, second.pass_rate) == (2, 2, 1.0)
    assert first.pass_ci is not None and first.pass_ci.low < 0.5 < first.pass_ci.high
    assert first.when is not None and second.when is not None and first.when < second.when


def test_filters_by_category_and_task(store: Store, tmp_path: Path) -> None:
    from tests.store.store_jobs import Attempt

    job_dir = tmp_path / "job"
    write_job(job_dir, {"a": [PASS, PASS], "b": [Attempt(False, category="logs")]})
    ingest_job(store, job_dir)
    with store.read() as conn:
        assert trends(conn, Filters(category="logs"))[0].points[0].scored == 1
        assert trends(conn, Filters(task="a"))[0].points[0].pass_rate == 1.0
        assert trends(conn, Filters(variant="nope")) == []


def test_no_regression_without_enough_history(store: Store, tmp_path: Path) -> None:
    for job_dir in regression_history(tmp_path / "jobs", n_good=1, n_bad=1):
        ingest_job(store, job_dir)
    with store.read() as conn:
        report = regressions(conn, recent=1, baseline=5)
    # 3/3 then 0/3 is not significant after correcting for the two tests.
    assert report.flagged == [] and len(report.tests) == 2


def test_fisher_and_holm_match_known_values() -> None:
    assert fisher_less(5, 5, 0, 5) == pytest.approx(1 / 252)
    assert fisher_less(3, 10, 3, 10) == pytest.approx(0.6857585, rel=1e-6)
    assert fisher_less(0, 4, 4, 4) == pytest.approx(1.0)
    assert holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
