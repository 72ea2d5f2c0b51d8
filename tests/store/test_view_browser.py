"""`opsbench view` in real headless Chromium: pages load clean, charts draw, drill-down opens."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from opsbench.paths import JobPaths
from opsbench.store.engine import Store
from opsbench.store.ingest import ingest_job
from tests.reporting.report_browser import Chrome
from tests.reporting.report_jobs import hostile_trial
from tests.reporting.report_jobs import write_job as write_report_job
from tests.store.conftest import ViewServer
from tests.store.store_jobs import regression_history


def fill(store: Store, root: Path) -> list[Path]:
    dirs = regression_history(root)
    for d in dirs:
        ingest_job(store, d)
    return dirs


def test_view_pages_in_chromium(
    chrome: Chrome, store: Store, view_server: ViewServer, tmp_path: Path
) -> None:
    dirs = fill(store, tmp_path / "jobs")
    base = view_server.url
    chrome.open(base)
    assert chrome.errors() == []
    assert chrome.eval("document.querySelectorAll('#job-table tbody tr[data-job]').length") == 10
    assert "1 regression flagged" in chrome.eval("document.getElementById('alarm').innerText")
    chrome.screenshot(tmp_path / "jobs.png")
    # Trends: one chart per variant, a point per job, the interval band drawn.
    chrome.open(base + "trends")
    assert chrome.errors() == []
    assert chrome.eval("document.querySelectorAll('svg.trend-chart').length") == 1
    assert chrome.eval("document.querySelectorAll('svg.trend-chart circle.pt').length") == 10
    box = chrome.eval("document.querySelector('svg.trend-chart polygon.band').getBBox().height")
    assert box > 10
    chrome.screenshot(tmp_path / "trends.png")
    # One task's history: the last five points sit at 0%, the first five at 100%.
    chrome.open(base + "trends?task=nginx-502")
    ys = chrome.eval(
        "Array.from(document.querySelectorAll('svg.trend-chart circle.pt')).map(c => +c.getAttribute('cy'))"
    )
    assert len(set(ys[:5])) == 1 and len(set(ys[5:])) == 1 and ys[0] < ys[-1]
    # Regressions: the evidence is on the page.
    chrome.open(base + "regressions")
    assert chrome.errors() == []
    row = chrome.eval("document.querySelector('#regression-table tr.flagged').innerText")
    assert "nginx-502" in row and "15/15" in row and "0/15" in row
    # Drill-down: a job, then a trial with its verdicts and its artifacts from disk.
    chrome.open(base)
    chrome.eval("document.querySelector('#job-table a.job-link').click()")
    assert chrome.wait_until("document.querySelectorAll('#trial-table tbody tr').length") == 6
    chrome.eval("document.querySelector('#trial-table tr[data-trial=\"nginx-502__1\"] a').click()")
    assert chrome.wait_until("document.querySelector('details.grading') !== null")
    assert chrome.errors() == []
    text = chrome.eval("document.querySelector('main').innerText")
    assert "site-serves-200" in text and "root-cause" in text
    assert (
        chrome.eval("document.querySelectorAll('details.grading tr[data-section=rubric]').length")
        == 1
    )
    assert chrome.eval("document.getElementById('grading-details') !== null")
    assert chrome.eval("document.getElementById('no-artifacts')") is None
    assert chrome.eval("document.querySelectorAll('#trajectory .step').length") == 2
    assert "proxy_pass :8018" in chrome.eval("document.getElementById('trajectory').innerText")
    chrome.eval("document.getElementById('commands').open = true")
    assert "nginx -T" in chrome.eval("document.getElementById('commands').innerText")
    chrome.screenshot(tmp_path / "trial.png")
    assert JobPaths(dirs[-1]).trial("nginx-502", 1).result.is_file()


XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'


def test_hostile_text_renders_as_text(
    chrome: Chrome, store: Store, view_server: ViewServer, tmp_path: Path
) -> None:
    job_dir = tmp_path / "jobs" / "hostile"
    write_report_job(job_dir, [hostile_trial(XSS, passed=True)], config={"model": XSS})
    ingest_job(store, job_dir)
    chrome.open(view_server.url + "jobs/1/trials/xss__1")
    assert chrome.errors() == []
    chrome.eval("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert (
        chrome.eval("document.querySelector('main').innerText").count(
            "<script>window.__xss = 1</script>"
        )
        >= 3
    )
    assert chrome.eval("document.scripts.length") == 0
    assert chrome.eval("document.querySelectorAll('main img').length") == 0
    assert chrome.eval("typeof window.__xss") == "undefined"


def test_files_outside_the_job_are_not_served(
    store: Store, view_server: ViewServer, tmp_path: Path
) -> None:
    fill(store, tmp_path / "jobs")
    assert view_server.url.startswith("http://127.0.0.1:")
    for path in (
        "jobs/1/files/..%2F..%2F..%2Fetc%2Fpasswd",
        "jobs/1/files/%2Fetc%2Fpasswd",
        "jobs/99",
    ):
        try:
            urllib.request.urlopen(view_server.url + path, timeout=10)
        except urllib.error.HTTPError as err:
            assert err.code == 404
        else:
            raise AssertionError(f"{path} was served")
    with urllib.request.urlopen(view_server.url + "jobs/1/files/nginx-502__1/result.json") as resp:
        assert resp.headers["Content-Type"].startswith("text/plain")
        assert b'"task_id":"nginx-502"' in resp.read()
