"""A scripted agent that investigates only the distractor shows "distractor followed" and
low evidence coverage: in its grading details, its result, the store and the run report.

End to end: a real job (`opsbench job`) on a real task of the corpus, in Docker.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from opsbench.cli import main
from opsbench.models.result import Outcome, TrialResult
from opsbench.models.verdict import read_grading_details
from opsbench.paths import JobPaths
from opsbench.store.engine import open_store
from opsbench.store.tables import gradings, trials
from reporting.drilldown import read_details
from tests.reporting.report_jobs import text_of, texts_of

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
AGENTS = "tests.runtime.distractor_agents"


def run_job(tmp_path: Path, agent: str, task: str, monkeypatch: pytest.MonkeyPatch) -> JobPaths:
    db = tmp_path / "results.db"
    monkeypatch.setenv("OPSBENCH_DATABASE_URL", f"sqlite:///{db}")
    jobs = tmp_path / "jobs"
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(
                [
                    "job",
                    "--agent-import-path",
                    f"{AGENTS}:{agent}",
                    "--task-name",
                    task,
                    "--n-attempts",
                    "1",
                    "--jobs-dir",
                    str(jobs),
                    "--job-name",
                    "distracted",
                    "--quiet",
                ]
            )
    finally:
        os.chdir(cwd)
    assert code == 0
    return JobPaths(jobs / "distracted")


def check_distracted(job: JobPaths, task: str, distractor: str, max_coverage: float) -> None:
    trial = job.trial(task, 1)
    result = TrialResult.model_validate_json(trial.result.read_text())
    assert result.outcome == Outcome.GRADED, result.exception
    assert result.rewards is not None and not result.rewards.task

    details = read_grading_details(trial.grading_details)
    d = details.diagnostics
    assert d is not None and d.declared
    assert d.distractors_investigated == [distractor]
    assert d.distractors_followed == [distractor] and d.distractor_followed
    assert d.coverage is not None and d.coverage.fraction <= max_coverage
    assert result.diagnostics == d  # result.json carries the same verdict

    # the store: a column per measure, and the whole verdict with the grading
    store = open_store(os.environ["OPSBENCH_DATABASE_URL"])
    with store.read() as conn:
        row = conn.execute(sa.select(trials)).one()
        graded = conn.execute(sa.select(gradings.c.diagnostics)).scalar_one()
    store.close()
    assert row.distractor_followed is True
    assert row.evidence_coverage == pytest.approx(d.coverage.fraction)
    assert row.invalid_actions == 0 and row.wrong_remediations == 0
    assert graded["distractors_followed"] == [distractor]

    # the run report: the summary cards, the task's row, the trial's drill-down
    html = job.report.read_text(encoding="utf-8")
    card = text_of(html, "data-metric", "distractor_followed")
    assert card.startswith("Distractor followed 100.0%"), card
    assert f"{distractor} 1" in card
    coverage = text_of(html, "data-metric", "evidence_coverage")
    assert coverage.startswith(f"Evidence coverage {d.coverage.fraction * 100:.1f}%"), coverage
    row_cells = texts_of(html, "data-metric", "distractor_followed")
    assert "1/1" in row_cells  # the task table (category and difficulty rows show 100.0%)
    drill = read_details(str(trial.grading_details))
    assert drill is not None and drill.diagnostics == d
    blob = json.loads(html.split('id="details-data">', 1)[1].split("</script>", 1)[0])
    assert blob["details"][0]["grading"]["diagnostics"]["followed"] == [distractor]


def test_an_agent_chasing_the_application_follows_the_distractor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nginx-bad-upstream: the application looks guilty (502s) and is fine."""
    job = run_job(tmp_path, "BlamesTheApp", "nginx-bad-upstream", monkeypatch)
    check_distracted(job, "nginx-bad-upstream", "application-down", max_coverage=0.0)


@pytest.mark.release  # the o11y data of a job takes a few minutes to generate here
def test_an_agent_chasing_checkout_follows_the_distractor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """payment-failures: checkout relays payments' failures as 502s."""
    job = run_job(tmp_path, "ChasesCheckout", "payment-failures", monkeypatch)
    check_distracted(job, "payment-failures", "checkout-relay", max_coverage=0.25)
