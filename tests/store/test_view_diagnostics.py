"""`opsbench view` shows a trial's diagnostics from the store's columns."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from opsbench.store.engine import Store
from opsbench.store.ingest import ingest_job
from tests.reporting.report_jobs import text_of, texts_of
from tests.reporting.test_diagnostics_report import jobs
from tests.store.conftest import ViewServer


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
    return body.decode()


def test_the_view_shows_a_trials_diagnostics(
    store: Store, view_server: ViewServer, tmp_path: Path
) -> None:
    a, _ = jobs(tmp_path)
    job_id = ingest_job(store, a).job_id
    page = get(f"{view_server.url}jobs/{job_id}/trials/nginx-502__1")
    shown = text_of(page, "data-metric", "diagnostics")
    assert shown == (
        "Diagnostics evidence 0% · followed app-down · 1 wrong remediation · 0 invalid actions"
    )
    old = get(f"{view_server.url}jobs/{job_id}/trials/checkout-slow__2")
    assert not texts_of(old, "data-metric", "diagnostics")  # graded before diagnostics
