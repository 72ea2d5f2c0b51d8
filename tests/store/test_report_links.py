"""The run report and comparison.html link to the variant's history when the store has it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from opsbench.models.job import Variant
from opsbench.store.engine import Store
from opsbench.store.ingest import ingest_job
from reporting.comparison import write_comparison
from reporting.run_report import write_run_report
from tests.reporting.report_jobs import text_of, texts_of
from tests.store.store_jobs import FAIL, PASS, T0, write_job

OTHER = Variant(model="openai/gpt-other", reasoning_effort="off", agent="sre", n_attempts=1)


def test_reports_link_to_the_variant_history(store: Store, tmp_path: Path) -> None:
    for i in range(3):
        write_job(tmp_path / f"run-{i}" / "a", {"t": [PASS]}, started=T0 + timedelta(days=i))
        ingest_job(store, tmp_path / f"run-{i}" / "a")
    suite = tmp_path / "run-2"
    write_job(suite / "b", {"t": [FAIL]}, started=T0, variant=OTHER)  # not in the store
    html = write_run_report(suite / "a").read_text()
    assert text_of(html, "class", "history-link") == "3 runs of openai-gpt-test-low"
    assert 'href="http://127.0.0.1:8765/variants/openai-gpt-test-low"' in html
    comparison = write_comparison(suite).read_text()
    assert texts_of(comparison, "class", "history-link") == ["history (3 runs)"]
    assert "history-link" not in (suite / "b" / "run_report.html").read_text()


def test_no_store_no_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSBENCH_DATABASE_URL", f"sqlite:///{tmp_path / 'absent.db'}")
    write_job(tmp_path / "a", {"t": [PASS]})
    assert "history-link" not in write_run_report(tmp_path / "a").read_text()
    assert not (tmp_path / "absent.db").exists()
    monkeypatch.setenv("OPSBENCH_DATABASE_URL", "postgresql+psycopg://x@127.0.0.1:9/none")
    assert "history-link" not in write_run_report(tmp_path / "a").read_text()
