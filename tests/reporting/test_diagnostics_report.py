"""The run report and the comparison show the diagnostics per variant, per category and
per task, beside the pass rate (numbers from `opsbench.metrics`)."""

from __future__ import annotations

from pathlib import Path

from opsbench.models.verdict import DiagnosticsVerdict, EvidenceCoverage, WrongRemediation
from reporting.comparison import write_comparison
from reporting.run_report import write_run_report
from tests.reporting.report_jobs import TrialSpec, text_of, texts_of, write_job


def diag(coverage: float, followed: bool, harm: bool = False) -> DiagnosticsVerdict:
    return DiagnosticsVerdict(
        declared=True,
        distractors_declared=1,
        harmful_declared=1,
        coverage=EvidenceCoverage(fraction=coverage),
        distractors_investigated=["app-down"] if followed else [],
        distractors_followed=["app-down"] if followed else [],
        wrong_remediations=[WrongRemediation(name="kills-app", command_index=2, command="pkill")]
        if harm
        else [],
    )


def jobs(root: Path) -> tuple[Path, Path]:
    distracted = [
        TrialSpec("nginx-502", 1, category="remediation", diagnostics=diag(0.0, True, True)),
        TrialSpec("nginx-502", 2, category="remediation", diagnostics=diag(0.5, True)),
        TrialSpec("checkout-slow", 1, category="investigation", diagnostics=diag(0.25, True)),
        # written before diagnostics existed: left out of the diagnostic rates
        TrialSpec("checkout-slow", 2, category="investigation"),
    ]
    careful = [
        TrialSpec("nginx-502", 1, passed=True, category="remediation", diagnostics=diag(1, False)),
        TrialSpec("nginx-502", 2, passed=True, category="remediation", diagnostics=diag(1, False)),
        TrialSpec(
            "checkout-slow", 1, passed=True, category="investigation", diagnostics=diag(1, False)
        ),
        TrialSpec(
            "checkout-slow",
            2,
            category="investigation",
            diagnostics=DiagnosticsVerdict(declared=False),
        ),
    ]
    a, b = root / "suite" / "distracted", root / "suite" / "careful"
    write_job(a, distracted)
    write_job(b, careful)
    return a, b


def test_run_report_shows_diagnostics_overall_per_category_and_per_task(tmp_path: Path) -> None:
    a, _ = jobs(tmp_path)
    html = write_run_report(a).read_text(encoding="utf-8")
    cards = texts_of(html, "data-metric", "evidence_coverage")
    assert cards[0].startswith("Evidence coverage 25.0%")  # (0 + 0.5 + 0.25) / 3
    followed = text_of(html, "data-metric", "distractor_followed")
    assert followed.startswith("Distractor followed 100.0%") and "app-down 3" in followed
    harm = text_of(html, "data-metric", "wrong_remediation")
    assert harm.startswith("Wrong remediation 33.3%") and "kills-app 1" in harm
    # per category (remediation, investigation) and per difficulty, then per task
    assert "25.0%" in cards[1] or "25.0%" in cards[2]
    assert "2/2" in texts_of(html, "data-metric", "distractor_followed")  # nginx-502's row
    assert "1/1" in texts_of(html, "data-metric", "distractor_followed")  # checkout-slow's


def test_comparison_shows_diagnostics_per_variant_category_and_task(tmp_path: Path) -> None:
    a, _ = jobs(tmp_path)
    html = write_comparison(a.parent).read_text(encoding="utf-8")
    by_variant = texts_of(html, "data-metric", "distractor_followed")
    assert any(t.startswith("100.0%") for t in by_variant)  # distracted
    assert any(t.startswith("0.0%") for t in by_variant)  # careful
    rows = texts_of(html, "data-category", "remediation")
    assert any(r.startswith("distracted remediation") and "100.0%" in r for r in rows)
    hints = texts_of(html, "data-metric", "diagnostics")
    assert "evidence 25% · followed 2/2 · harmful 1/2 · invalid 0" in hints
    assert "evidence 100% · followed 0/1 · harmful 0/1 · invalid 0" in hints
