"""The reports in real headless Chromium: no console errors, charts, drill-down, escaping."""

from __future__ import annotations

from pathlib import Path

from opsbench.models.result import Outcome, TrialResult
from reporting.comparison import write_comparison
from reporting.run_report import write_run_report
from tests.reporting.report_browser import Chrome
from tests.reporting.report_jobs import TrialSpec, hand_made_specs, hostile_trial, write_job

XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'


def test_run_report_in_chromium(
    chrome: Chrome, hand_job: tuple[Path, list[TrialResult]], tmp_path: Path
) -> None:
    job_dir, _ = hand_job
    report = write_run_report(job_dir)
    chrome.open(report.as_uri())
    assert chrome.errors() == []
    # Charts: two bar charts (category, difficulty), the outcome bar; a bar per category.
    assert chrome.eval("document.querySelectorAll('svg.chart').length") >= 3
    assert (
        chrome.eval(
            "document.querySelectorAll('#breakdown svg.chart:first-of-type g.bar-row').length"
        )
        == 2
    )
    shot = chrome.screenshot(tmp_path / "run_report.png")
    assert shot.stat().st_size > 10_000
    # Open a task, then an attempt: the drill-down shows grading with evidence.
    chrome.eval("document.querySelector('tr[data-task=\"disk-full\"]').click()")
    assert chrome.wait_until("document.querySelectorAll('.chips .chip').length") == 3
    chrome.eval("document.querySelector('.chip[data-trial=\"disk-full__3\"]').click()")
    assert chrome.wait_until("document.getElementById('drill').open")
    assert chrome.eval("document.getElementById('drill-title').textContent") == "disk-full__3"
    body = chrome.eval("document.getElementById('drill-body').innerText")
    assert "compliance: fail" in body and "ran systemctl restart postgres" in body
    assert "The summary says the pool is exhausted." in body  # judge explanation
    assert chrome.eval("document.querySelectorAll('#drill-body tr[data-kind=rubric]').length") == 1
    assert chrome.eval("location.hash") == "#trial=disk-full__3"
    chrome.screenshot(tmp_path / "drilldown.png", full_page=False)
    chrome.eval("document.getElementById('drill-close').click()")
    assert not chrome.eval("document.getElementById('drill').open")
    assert chrome.errors() == []


def test_sort_filter_and_links(chrome: Chrome, hand_job: tuple[Path, list[TrialResult]]) -> None:
    job_dir, _ = hand_job
    report = write_run_report(job_dir)
    chrome.open(report.as_uri() + "#trial=slow-db__2")
    assert chrome.wait_until("document.getElementById('drill').open")
    assert "RuntimeError" in chrome.eval("document.getElementById('drill-body').innerText")
    chrome.eval("document.getElementById('drill').close()")
    order = (
        "Array.from(document.querySelectorAll('tr.task-row')).map(r => r.dataset.task).join(',')"
    )
    reward_th = "Array.from(document.querySelectorAll('#task-table th')).find(t => t.textContent.startsWith('Reward'))"
    chrome.eval(f"{reward_th}.click()")
    assert chrome.eval(order).split(",")[0] == "slow-db"
    chrome.eval(f"{reward_th}.click()")
    assert chrome.eval(order).split(",")[-1] == "slow-db"
    chrome.eval(
        "const f = document.getElementById('f-status'); f.value = 'fail';"
        "f.dispatchEvent(new Event('input'))"
    )
    visible = "Array.from(document.querySelectorAll('tr.task-row')).filter(r => !r.hidden).map(r => r.dataset.task)"
    assert chrome.eval(visible) == ["slow-db"]
    assert chrome.errors() == []


def test_script_in_a_trajectory_renders_as_text(chrome: Chrome, tmp_path: Path) -> None:
    spec = hostile_trial(XSS, passed=True)
    job_dir = tmp_path / "job"
    write_job(job_dir, [spec], config={"model": XSS})
    chrome.open(write_run_report(job_dir).as_uri() + "#trial=xss__1")
    assert chrome.wait_until("document.getElementById('drill').open")
    chrome.eval("document.querySelectorAll('#drill-body details').forEach(d => d.open = true)")
    text = chrome.eval("document.getElementById('drill-body').innerText")
    assert text.count("<script>window.__xss = 1</script>") >= 4
    assert (
        chrome.eval("document.querySelectorAll('#drill-body script, #drill-body img').length") == 0
    )
    assert chrome.eval("document.scripts.length") == 4
    assert chrome.eval("typeof window.__xss") == "undefined"
    assert chrome.errors() == []


def test_comparison_in_chromium(chrome: Chrome, tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    a = suite / "variant-a"
    b = suite / "variant-b"
    write_job(a, hand_made_specs())
    write_job(
        b,
        [
            TrialSpec(
                s.task_id, s.attempt, Outcome.GRADED, passed=True, category=s.category, cost=0.2
            )
            for s in hand_made_specs()
        ],
    )
    out = write_comparison([a, b], suite / "comparison.html")
    chrome.open(out.as_uri())
    assert chrome.errors() == []
    assert chrome.eval("document.querySelectorAll('#leaderboard-table tbody tr').length") == 2
    first = chrome.eval("document.querySelector('#leaderboard-table tbody tr').dataset.variant")
    assert first == "variant-b"
    assert chrome.eval("document.querySelectorAll('#heat-table td.cell').length") == 4
    assert chrome.eval("document.querySelectorAll('svg.scatter circle.pt').length") == 2
    hrefs = chrome.eval(
        "Array.from(document.querySelectorAll('#leaderboard-table a')).map(a => a.href)"
    )
    assert all(h.endswith("/run_report.html") for h in hrefs)
    assert (a / "run_report.html").is_file() and (b / "run_report.html").is_file()
    chrome.screenshot(tmp_path / "comparison.png")
    chrome.open(chrome.eval("document.querySelector('#per-task-table a').href"))
    assert chrome.wait_until("document.querySelector('tr.task-row[aria-expanded=true]') !== null")
    assert chrome.errors() == []
