"""Calibration of the whole corpus in real Docker: `opsbench validate` over every task in
tasks-spec/ must find the oracle passing both gates and nop failing the task gate with
reward 0.

It runs what a user runs (`opsbench validate`, red team included), with its own jobs
directory, and reads the table it prints and `redteam.json`. What CI affords on two
cores: every task calibrated once, and the red team on one task per category and per
sidecar kind (`--redteam-representative`); the full run (oracle three times, the red
team on every task) is the `release`-marked twin at the end. The red team is also a
ratchet: a task × exploit outside
`known_hackable.json` (empty today) that becomes hackable fails CI (a new hole); one that
is listed and no longer passes is reported, to be removed from the file.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from opsbench.cli import main
from opsbench.compile import compile_all
from opsbench.paths import ProjectPaths
from opsbench.redteam import RedTeamReport
from opsbench.specload import load_specs

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^(?P<task>[a-z0-9][a-z0-9-]+)\s+(?P<oracle>ok |BAD) .*\s(?P<nop>ok |BAD) .*$")


@pytest.fixture(scope="module")
def images() -> None:
    """Base and sidecar images (preflight normally built them: then this is instant)."""
    from opsbench.runtime.images import (
        ensure_sidecars,
        ensure_task_base,
        ensure_upstream_base,
        ensure_verifier,
        resolve_ca_bundle,
    )

    ensure_upstream_base()
    ensure_task_base(REPO / "environment", resolve_ca_bundle(None))
    ensure_sidecars(REPO / "environment")
    ensure_verifier(REPO / "environment")


KNOWN_HACKABLE = Path(__file__).with_name("known_hackable.json")
"""task -> exploits that pass it today (`opsbench validate`; the input of issue 12's
trusted-verifier work). Shrink it as tasks are fixed; it must never grow."""


@dataclass
class Validation:
    code: int
    out: str
    report: RedTeamReport
    root: Path


CI_VALIDATE = ["--oracle-attempts", "1", "--redteam-representative", "--n-concurrent", "6"]
"""Six at once: many trials wait (a verifier probing an alert pipeline, a service start)."""


def run_validate(root: Path, extra: list[str]) -> Validation:
    cwd = os.getcwd()
    os.chdir(REPO)
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            code = main(["validate", "--jobs-dir", str(root), *extra])
    finally:
        os.chdir(cwd)
    report = RedTeamReport.model_validate_json((root / "redteam.json").read_text())
    return Validation(code, buf.getvalue(), report, root)


@pytest.fixture(scope="module")
def validation(images: None, tmp_path_factory: pytest.TempPathFactory) -> Validation:
    return run_validate(tmp_path_factory.mktemp("calibration") / "validate", CI_VALIDATE)


@pytest.mark.timeout(2400)
def test_every_task_calibrates(validation: Validation) -> None:
    out = validation.out
    expected = {t.task_id for t in compile_all(ProjectPaths(REPO))}
    rows = {m["task"]: m for m in map(ROW.match, out.splitlines()) if m}
    assert set(rows) == expected, out
    bad = [t for t, m in rows.items() if "BAD" in (m["oracle"], m["nop"])]
    assert not bad, out
    categories = {s.spec.category for s in load_specs(ProjectPaths(REPO).specs)}
    assert f"\n{len(expected)} tasks · {len(categories)} categories · 0 calibration" in out, out
    assert validation.code == (1 if validation.report.hackable_tasks else 0), out


@pytest.mark.timeout(2400)
def test_red_team_finds_no_new_hole(validation: Validation) -> None:
    """A ratchet: no exploit may pass a task it did not pass before. One that no longer
    passes is reported (a warning) so the known set is shrunk by whoever fixed it; it is
    not a failure, since a faking exploit that loses a race under load is no regression."""
    report = validation.report
    assert not [f for f in report.findings if f.verdict == "not-graded"], validation.out
    known = {(t, e) for t, es in json.loads(KNOWN_HACKABLE.read_text()).items() for e in es}
    kinds = {
        (loaded.spec.id, c.name): c.kind
        for loaded in load_specs(ProjectPaths(REPO).specs)
        for c in loaded.spec.checks
    }
    lucky = {  # a constant guess inside a numeric window at this run's scenario clock
        (f.task_id, f.exploit)
        for f in report.findings
        if f.verdict == "earns-check"
        and f.checks
        and all(kinds.get((f.task_id, c)) == "answer" for c in f.checks)
    }
    found = {(f.task_id, f.exploit) for f in report.findings if f.hackable}
    new = sorted(found - known - lucky)
    assert not new, f"newly hackable (task, exploit): {new}\n{validation.out}"
    if found & lucky - known:
        warnings.warn(f"numeric guesses landed in a tolerance: {sorted(lucky)}", stacklevel=1)
    fixed = sorted(known - found)
    if fixed:
        warnings.warn(
            f"no longer hackable, remove from {KNOWN_HACKABLE.name}: {fixed}", stacklevel=1
        )


@pytest.mark.timeout(2400)
def test_the_oracle_report_shows_the_diagnostics(validation: Validation) -> None:
    """Issue 16's done-when: the oracle job's run report shows the diagnostic metrics. The
    oracle looks at much of the declared evidence, follows no distractor and does no harm;
    nop looks at nothing."""
    from opsbench.metrics import load_results, summarize_job
    from tests.reporting.report_jobs import text_of

    oracle = summarize_job(load_results(validation.root / "oracle")).overall.diagnostics
    assert oracle.trials > 0 and oracle.declared > 0  # test_diagnostics_declared: all of them
    assert oracle.evidence_coverage.value is not None and oracle.evidence_coverage.value > 0.5
    assert oracle.distractor_followed.successes == 0 < oracle.distractor_followed.n
    assert oracle.wrong_remediation.successes == 0 and oracle.invalid_actions.value == 0
    html = (validation.root / "oracle" / "run_report.html").read_text(encoding="utf-8")
    for metric in ("evidence_coverage", "distractor_followed", "wrong_remediation"):
        assert text_of(html, "data-metric", metric), metric
    assert text_of(html, "data-metric", "distractor_followed").startswith(
        "Distractor followed 0.0%"
    )
    nop = summarize_job(load_results(validation.root / "nop")).overall.diagnostics
    assert nop.evidence_coverage.value == 0.0 and nop.distractor_followed.successes == 0


@pytest.mark.release
@pytest.mark.timeout(4 * 3600)
def test_the_whole_corpus_calibrates_with_the_whole_red_team(images: None, tmp_path: Path) -> None:
    """The release gate, as a user runs it: `opsbench validate` with its defaults (the
    oracle three times, the red team on every task) exits 0: every task calibrated, none
    hackable."""
    full = run_validate(tmp_path / "validate", [])
    assert full.code == 0, full.out
    assert not full.report.hackable_tasks, full.out
