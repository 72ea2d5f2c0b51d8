"""Ingest: jobs land whole and once, regrades add versions, bad input is named."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from opsbench.cli import main
from opsbench.display import RecordingDisplay
from opsbench.jobrun import finish_job
from opsbench.paths import JobPaths
from opsbench.store.engine import (
    HEAD_REVISION,
    MIGRATIONS,
    Store,
    StoreError,
    migrate_store,
    open_store,
)
from opsbench.store.ingest import flush_jobs, ingest_job
from opsbench.store.tables import gradings, jobs, trials, verdicts
from tests.store.store_jobs import FAIL, INFRA, PASS, Attempt, write_job

NOT_APPLICABLE = Attempt(True, compliance=None)
"""A Harbor-format task's trial: reward 1, compliance not applicable."""


def counts(store: Store) -> dict[str, int]:
    with store.read() as conn:
        return {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (jobs, trials, gradings, verdicts)
        }


def test_ingest_stores_the_job_whole(store: Store, tmp_path: Path) -> None:
    job_dir = tmp_path / "jobs" / "openai-gpt-test-low-k3"
    write_job(job_dir, {"nginx-502": [PASS, FAIL, INFRA]})
    report = ingest_job(store, job_dir)
    assert (report.trials, report.added, report.new_gradings) == (3, 3, 2)
    assert counts(store) == {"jobs": 1, "trials": 3, "gradings": 2, "verdicts": 6}
    with store.read() as conn:
        job = conn.execute(sa.select(jobs)).one()
        rows = {r.trial_name: r for r in conn.execute(sa.select(trials))}
        rubric = conn.execute(
            sa.select(verdicts.c.verdict, verdicts.c.passed).where(verdicts.c.section == "rubric")
        ).all()
    assert job.variant == "openai-gpt-test-low" and job.judge_model == "openai/judge"
    assert job.scenario_time == "2026-03-01T12:00:00Z" and job.n_trials == 3
    assert job.config["variant"]["model"] == "openai/gpt-test"
    assert rows["nginx-502__1"].passed and rows["nginx-502__1"].reward == 1.0
    assert not rows["nginx-502__2"].passed and rows["nginx-502__2"].scored
    assert rows["nginx-502__3"].outcome == "infra_error" and not rows["nginx-502__3"].scored
    assert rows["nginx-502__1"].phases["agent"]["seconds"] == 30.0
    assert sorted(rubric) == [("no", False), ("yes", True)]


def test_ingest_twice_and_resume_update_rows_never_duplicate(store: Store, tmp_path: Path) -> None:
    job_dir = tmp_path / "job"
    write_job(job_dir, {"nginx-502": [PASS, INFRA]})
    ingest_job(store, job_dir)
    again = ingest_job(store, job_dir)
    assert (again.added, again.updated, again.unchanged, again.new_gradings) == (0, 0, 2, 0)
    assert counts(store) == {"jobs": 1, "trials": 2, "gradings": 1, "verdicts": 3}
    # A resume reruns the infra error (same trial name, new run) and it now passes.
    write_job(job_dir, {"nginx-502": [PASS, PASS]})
    resumed = ingest_job(store, job_dir)
    assert (resumed.added, resumed.updated, resumed.unchanged) == (0, 1, 1)
    assert counts(store) == {"jobs": 1, "trials": 2, "gradings": 2, "verdicts": 6}
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(trials.c.passed)).scalar_one() == 2


def test_regrade_adds_a_version_and_keeps_the_old(store: Store, tmp_path: Path) -> None:
    job_dir = tmp_path / "job"
    write_job(job_dir, {"nginx-502": [FAIL]})
    ingest_job(store, job_dir)
    trial = JobPaths(job_dir).trial("nginx-502", 1)
    history = trial.history / "20260302T000000000000Z"
    history.mkdir(parents=True)
    shutil.copy2(trial.grading_details, history / "grading_details.json")
    details = json.loads(trial.grading_details.read_text())
    details["rubric"][0]["verdict"] = "yes"
    details["provenance"] = {"grader_version": "1", "regraded_at": "2026-03-02T00:00:00+00:00"}
    trial.grading_details.write_text(json.dumps(details))
    report = ingest_job(store, job_dir)
    assert report.new_gradings == 1
    with store.read() as conn:
        rows = conn.execute(
            sa.select(gradings.c.source, gradings.c.current, gradings.c.grader_version).order_by(
                gradings.c.graded_at
            )
        ).all()
    assert rows == [("history/20260302T000000000000Z", False, None), ("current", True, "1")]
    assert counts(store)["verdicts"] == 6


def test_corrupt_results_are_skipped_and_named_never_half_written(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job_dir = tmp_path / "job"
    write_job(job_dir, {"nginx-502": [PASS, PASS, PASS]})
    good = JobPaths(job_dir).trial("nginx-502", 2).result
    good.write_text(good.read_text()[:40])  # partial
    JobPaths(job_dir).trial("nginx-502", 3).result.write_text("{not json")
    assert main(["store", "ingest", str(job_dir)]) == 0
    out = capsys.readouterr().out
    assert "skipped nginx-502__2: result.json corrupt or partial" in out
    assert "skipped nginx-502__3: result.json corrupt or partial" in out
    assert counts(store)["trials"] == 1


BREAK_VERDICTS = {
    "sqlite": [
        "CREATE TRIGGER boom BEFORE INSERT ON verdicts WHEN NEW.kind = 'boom' "
        "BEGIN SELECT RAISE(ABORT, 'boom'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF NEW.kind = 'boom' THEN "
        "RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER boom BEFORE INSERT ON verdicts FOR EACH ROW EXECUTE FUNCTION boom()",
    ],
}


def test_a_failed_write_leaves_nothing(store: Store, tmp_path: Path) -> None:
    job_dir = tmp_path / "job"
    write_job(job_dir, {"nginx-502": [PASS, PASS]})
    trial = JobPaths(job_dir).trial("nginx-502", 2)
    details = json.loads(trial.grading_details.read_text())
    details["checks"][0]["kind"] = "boom"  # the database refuses the last rows of the job
    trial.grading_details.write_text(json.dumps(details))
    with store.write() as conn:
        for statement in BREAK_VERDICTS[store.dialect]:
            conn.execute(sa.text(statement))
    with pytest.raises(StoreError, match="could not write"):
        ingest_job(store, job_dir)
    assert counts(store) == {"jobs": 0, "trials": 0, "gradings": 0, "verdicts": 0}


def test_overlong_names_are_clipped_to_their_columns(store: Store, tmp_path: Path) -> None:
    job_dir = tmp_path / "job"
    write_job(job_dir, {"nginx-502": [PASS]})
    trial = JobPaths(job_dir).trial("nginx-502", 1)
    details = json.loads(trial.grading_details.read_text())
    details["checks"][0]["name"] = "x" * 400
    details["checks"][0]["kind"] = "k" * 100
    trial.grading_details.write_text(json.dumps(details))
    ingest_job(store, job_dir)
    with store.read() as conn:
        name, kind = conn.execute(
            sa.select(verdicts.c.name, verdicts.c.kind).where(verdicts.c.section == "checks")
        ).one()
    assert (len(name), len(kind)) == (300, 60)


def test_concurrent_ingests_of_one_job_do_not_duplicate(store_url: str, tmp_path: Path) -> None:
    job_dir = tmp_path / "job"
    write_job(job_dir, {f"task-{i}": [PASS, FAIL, INFRA] for i in range(30)})
    stores = [open_store(store_url) for _ in range(4)]
    errors: list[BaseException] = []

    def ingest(s: Store) -> None:
        try:
            ingest_job(s, job_dir)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ingest, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert counts(stores[0]) == {"jobs": 1, "trials": 90, "gradings": 60, "verdicts": 180}
    for s in stores:
        s.close()


def test_flush_removes_a_jobs_rows(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "a" / "job-a", tmp_path / "b" / "job-b"
    write_job(a, {"nginx-502": [PASS]})
    write_job(b, {"nginx-502": [FAIL]})
    ingest_job(store, a)
    ingest_job(store, b)
    assert main(["store", "flush", "--job", "job-a"]) == 0
    assert "flushed job-a@2026-03-01T12:00:00Z" in capsys.readouterr().out
    assert counts(store) == {"jobs": 1, "trials": 1, "gradings": 1, "verdicts": 3}
    assert main(["store", "flush", "--job", "job-a"]) == 2
    assert "no job 'job-a' in the store" in capsys.readouterr().err
    assert flush_jobs(store, "job-b").trials == 1


def test_ingest_a_suite_directory(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = tmp_path / "suite"
    write_job(suite / "one", {"nginx-502": [PASS]})
    write_job(suite / "two", {"nginx-502": [FAIL]})
    assert main(["store", "ingest", str(suite)]) == 0
    assert "2 jobs ingested, 0 trials skipped" in capsys.readouterr().out
    assert counts(store)["jobs"] == 2


def test_job_end_ingests_and_a_down_store_never_fails_the_job(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_dir = tmp_path / "job"
    write_job(job_dir, {"nginx-502": [PASS]})
    display = RecordingDisplay()
    finish_job(JobPaths(job_dir), display)
    assert "store: 1 trials of job" in display.messages
    s = open_store(store_url)
    assert counts(s)["trials"] == 1
    s.close()
    monkeypatch.setenv("OPSBENCH_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    display = RecordingDisplay()
    finish_job(JobPaths(job_dir), display)
    (line,) = display.warnings
    assert line.startswith("could not ingest job into the results store (store postgresql")
    assert line.endswith(f"run `opsbench store ingest {job_dir}` later")
    assert JobPaths(job_dir).report.is_file()
    assert any(m.startswith("report: ") for m in display.messages)


def test_unreachable_url_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["trends", "--database-url", "postgresql+psycopg://me:secret@127.0.0.1:9/db"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith("store postgresql+psycopg://me:***@127.0.0.1:9/db: cannot connect")
    assert "secret" not in err[0]


def test_an_older_store_is_migrated_on_open(store_url: str, tmp_path: Path) -> None:
    old = Store(open_store(store_url, migrate=False).engine, store_url)
    migrate_store(old, "0001")
    with old.read() as conn:
        assert "audit_flags" not in {c["name"] for c in sa.inspect(conn).get_columns("trials")}
    old.close()
    job_dir = tmp_path / "job"
    write_job(job_dir, {"nginx-502": [PASS]})
    store = open_store(store_url)
    ingest_job(store, job_dir)
    with store.read() as conn:
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("trials")}
        assert {"audit_flags", "evidence_coverage", "distractor_followed"} <= columns
        assert "diagnostics" in {c["name"] for c in sa.inspect(conn).get_columns("gradings")}
    assert version == HEAD_REVISION
    store.close()


def test_not_applicable_compliance_is_stored_as_null_never_as_a_gate(
    store: Store, tmp_path: Path
) -> None:
    """A Harbor-format task declares no rules: its trial's compliance is NULL in trials and
    gradings, beside an opsbench trial whose gate passed and one whose gate failed."""
    job_dir = tmp_path / "job"
    failed = Attempt(False, compliance=False)
    write_job(job_dir, {"harbor-task": [NOT_APPLICABLE], "ours": [PASS, failed]})
    ingest_job(store, job_dir)
    with store.read() as conn:
        rows = {r.trial_name: r.compliance_gate for r in conn.execute(sa.select(trials))}
        graded = conn.execute(
            sa.select(trials.c.trial_name, gradings.c.compliance_gate).join(
                gradings, gradings.c.trial_id == trials.c.id
            )
        ).all()
    assert rows == {"harbor-task__1": None, "ours__1": True, "ours__2": False}
    assert dict(graded) == rows


def test_a_store_from_before_not_applicable_is_migrated(store_url: str, tmp_path: Path) -> None:
    """0002 stored compliance NOT NULL (a Harbor task's as false); 0003 makes it NULL."""
    old = Store(open_store(store_url, migrate=False).engine, store_url)
    migrate_store(old, "0002")
    old.close()
    job_dir = tmp_path / "job"
    write_job(job_dir, {"harbor-task": [NOT_APPLICABLE]})
    store = open_store(store_url)
    ingest_job(store, job_dir)
    with store.read() as conn:
        assert conn.execute(sa.select(trials.c.compliance_gate)).scalar_one() is None
    store.close()


def test_head_revision_is_the_newest_script() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_diagnostics_land_in_columns_and_with_their_grading(store: Store, tmp_path: Path) -> None:
    from opsbench.models.result import TrialResult
    from opsbench.models.verdict import DiagnosticsVerdict, EvidenceCoverage, InvalidAction

    job_dir = tmp_path / "job"
    write_job(job_dir, {"nginx-502": [FAIL, PASS, INFRA]})
    diagnosed = DiagnosticsVerdict(
        declared=True,
        distractors_declared=1,
        harmful_declared=0,
        coverage=EvidenceCoverage(fraction=0.25, seen=["a"], missed=["b", "c", "d"]),
        distractors_investigated=["app-down"],
        distractors_followed=["app-down"],
        wrong_remediations=[],
        invalid_actions=[InvalidAction(kind="unknown_tool", step_id=3, detail="grep_logs")],
    )
    trial = JobPaths(job_dir).trial("nginx-502", 1)
    result = TrialResult.model_validate_json(trial.result.read_text())
    result.diagnostics = diagnosed
    trial.result.write_text(result.model_dump_json())
    details = json.loads(trial.grading_details.read_text())
    details["diagnostics"] = diagnosed.model_dump(mode="json")
    trial.grading_details.write_text(json.dumps(details))
    ingest_job(store, job_dir)
    with store.read() as conn:
        rows = {r.trial_name: r for r in conn.execute(sa.select(trials))}
        stored = conn.execute(sa.select(gradings.c.diagnostics)).scalars().all()
    failed, passed, infra = rows["nginx-502__1"], rows["nginx-502__2"], rows["nginx-502__3"]
    assert failed.evidence_coverage == 0.25 and failed.distractor_followed is True
    assert failed.wrong_remediations is None  # no harmful actions declared: not applicable
    assert failed.invalid_actions == 1
    assert failed.diagnostics["invalid_actions"][0]["kind"] == "unknown_tool"
    # results written before diagnostics existed, and unscored trials: NULL, never 0
    for row in (passed, infra):
        assert (row.evidence_coverage, row.distractor_followed, row.invalid_actions) == (
            None,
            None,
            None,
        )
    assert sorted(stored, key=lambda d: d is None) == [
        diagnosed.model_dump(mode="json"),
        None,
    ]
