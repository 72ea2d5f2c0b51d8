"""run_report.html from artifacts alone: the numbers shown, exclusions, escaping, budgets."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from opsbench.models.result import Outcome, TrialResult
from opsbench.models.trajectory import Step
from opsbench.paths import JobPaths
from reporting import collect
from reporting.collect import PendingDetails
from reporting.drilldown import DETAIL_BUDGET
from reporting.load import load_job
from reporting.run_report import write_run_report
from tests.reporting.report_jobs import TrialSpec, hostile_trial, text_of, texts_of, write_job

PAYLOAD = '<script>window.__xss = 1</script><img src=x onerror="window.__xss=2">'


def wilson_text(s: int, n: int) -> str:
    z = 1.959963984540054
    p = s / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return f"[{(centre - half) * 100:.1f}–{(centre + half) * 100:.1f}]"


def test_headline_numbers_are_computed_from_the_trials(
    hand_job: tuple[Path, list[TrialResult]],
) -> None:
    job_dir, _ = hand_job
    out = write_run_report(job_dir)
    assert out == JobPaths(job_dir).report
    html = out.read_text(encoding="utf-8")
    passed = text_of(html, "data-metric", "passed")
    # 3 passes over 6 scored trials; the 3 excluded trials are not in the denominator.
    assert "50.0%" in passed and "3 of 6 scored trials" in passed
    assert wilson_text(3, 6) in passed
    assert "33.3%" not in passed
    assert "66.7%" in text_of(html, "data-metric", "task_gate")
    assert "66.7%" in text_of(html, "data-metric", "compliance")
    assert f"{4.25 / 6:.3f}" in text_of(html, "data-metric", "reward")
    coverage = text_of(html, "id", "coverage")
    assert "6 of 9 trials scored" in coverage
    assert "provider error: 1" in coverage and "infra error: 1" in coverage
    # pass@k / pass^k by hand: k=1 (2/3 + 0 + 1) / 3; k=2 (1 + 0) / 2 and (1/3 + 0) / 2.
    assert text_of(html, "data-k", "1").startswith(f"1 {(2 / 3 + 1) / 3 * 100:.1f}%")
    k2 = text_of(html, "data-k", "2")
    assert k2.startswith("2 50.0%") and " 16.7% " in k2 and k2.endswith(" 2")
    assert text_of(html, "data-outcome", "provider_error").endswith("1 11.1% no — reported apart")
    assert "yes, as a fail" in text_of(html, "data-outcome", "agent_error")


def test_header_shows_the_variant_and_clock(hand_job: tuple[Path, list[TrialResult]]) -> None:
    job_dir, _ = hand_job
    html = write_run_report(job_dir).read_text(encoding="utf-8")
    header = re.search(r'<dl class="meta">(.*?)</dl>', html, re.S)
    assert header is not None
    text = " ".join(re.sub(r"<[^>]+>", " ", header.group(1)).split())
    for expected in (
        "Model openai/gpt-test",
        "Reasoning effort low",
        "Agent sre",
        "Attempts per task 3",
        "Tasks 3",
        "Trials 9",
        "Scenario clock 2026-03-01T12:00:00Z",
        "Judge model openai/judge-test",
        "opsbench version 0.1.0",
    ):
        assert expected in text


def test_task_table_rows(hand_job: tuple[Path, list[TrialResult]]) -> None:
    job_dir, _ = hand_job
    html = write_run_report(job_dir).read_text(encoding="utf-8")
    rows = {t.split()[0]: t for t in texts_of(html, "data-task") if t}
    assert set(rows) == {"disk-full", "slow-db", "log-spike"}
    assert "2/3" in rows["disk-full"] and "3/3" in rows["disk-full"]
    # slow-db: 2 scored (+1 excluded), no pass, one compliance failure (the agent error).
    assert re.search(r"slow-db alerts hard 2 \+1 0/2 0/2 1/2 0 0.125", rows["slow-db"])


def test_not_applicable_compliance_reads_n_a(tmp_path: Path) -> None:
    """Harbor-format tasks declare no rules: their compliance is n/a, never 0 of N."""
    specs = [
        TrialSpec("harbor-hello", 1, passed=True, compliance=None, grading={}),
        TrialSpec("harbor-hello", 2, passed=False, compliance=None, grading={}),
    ]
    write_job(tmp_path / "job", specs)
    html = write_run_report(tmp_path / "job").read_text(encoding="utf-8")
    assert text_of(html, "data-metric", "compliance").startswith("Compliance gate n/a")
    row = text_of(html, "data-task", "harbor-hello")
    assert re.search(r"harbor-hello alerts easy 2 1/2 1/2 n/a 0 ", row), row


def test_untrusted_text_is_escaped(tmp_path: Path) -> None:
    spec = hostile_trial(PAYLOAD, passed=False)
    job_dir = tmp_path / "job"
    write_job(job_dir, [spec], config={"model": PAYLOAD})
    html = write_run_report(job_dir).read_text(encoding="utf-8")
    assert "<script>window.__xss" not in html
    assert "<img src=x" not in html
    assert html.count("<script") == 4  # our two JSON blobs and two inline scripts
    assert "&lt;script&gt;window.__xss" in html  # the header's model, escaped by Jinja
    blob = re.search(
        r'<script type="application/json" id="details-data">(.*?)</script>', html, re.S
    )
    assert blob is not None
    data = json.loads(blob.group(1))
    assert data["details"][0]["final"] == PAYLOAD


def test_self_contained(hand_job: tuple[Path, list[TrialResult]]) -> None:
    job_dir, _ = hand_job
    html = write_run_report(job_dir).read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)=", html)
    assert "@import" not in html and "url(http" not in html


def test_missing_and_partial_artifacts(tmp_path: Path) -> None:
    job_dir = tmp_path / "job"
    write_job(job_dir, [TrialSpec("a", 1, Outcome.GRADED, passed=True)])
    job = JobPaths(job_dir)
    job.config.write_text("{not json", encoding="utf-8")
    bare = job.trial("a", 1)
    for f in (bare.trajectory, bare.commands, bare.grading_details, bare.instruction):
        f.unlink()
    job.trial("b", 1).make()  # still running: no result.json
    html = write_run_report(job_dir).read_text(encoding="utf-8")
    assert "1 trial directory has no result.json yet" in html
    assert "100.0%" in text_of(html, "data-metric", "passed")


def test_large_jobs_stay_within_the_budget(tmp_path: Path) -> None:
    big = "x" * 200_000
    specs = [
        TrialSpec(
            f"t{i}",
            1,
            Outcome.GRADED,
            passed=i % 2 == 0,
            final_answer=big,
            steps=[Step(step_id=j, source="agent", message=big) for j in range(1, 4)],
        )
        for i in range(30)
    ]
    job_dir = tmp_path / "job"
    write_job(job_dir, specs)
    html = write_run_report(job_dir).read_text(encoding="utf-8")
    assert len(html) < DETAIL_BUDGET + 1_000_000
    assert "more characters in the trial's files" in html


def test_parallel_collection_matches_serial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = [
        TrialSpec(
            f"t{i % 7}", i // 7 + 1, Outcome.GRADED, passed=i % 3 == 0, instruction=f"do {i % 7}"
        )
        for i in range(40)
    ]
    job_dir = tmp_path / "job"
    write_job(job_dir, specs)
    job = load_job(job_dir)
    serial = PendingDetails(job.trials, workers=1).result()
    monkeypatch.setattr(collect, "PARALLEL_MIN", 1)
    with PendingDetails(job.trials, workers=2) as pending:
        assert len(pending.futures) > 1
        parallel = pending.result()
    assert parallel == serial
    assert len(serial["instructions"]) == 7


def test_a_job_with_no_finished_trial(tmp_path: Path) -> None:
    job_dir = tmp_path / "job"
    write_job(job_dir, [])
    JobPaths(job_dir).trial("first", 1).make()
    html = write_run_report(job_dir).read_text(encoding="utf-8")
    assert "0 of 1 trials scored" not in html  # no finished trials: nothing scored yet
    assert "0 of 0 trials scored" in html
    assert "1 trial directory has no result.json yet" in html
