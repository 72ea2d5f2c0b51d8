"""Calibration of the whole corpus in real Docker: `opsbench validate` over every task in
tasks-spec/ must find the oracle passing both gates and nop failing the task gate.

It runs what a user runs (`opsbench validate`), with its own jobs directory, and reads the
table it prints. On a 2-core machine with the images built it takes about a minute.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opsbench.cli import main
from opsbench.compile import compile_all
from opsbench.paths import ProjectPaths

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


@pytest.mark.timeout(1200)
def test_every_task_calibrates(
    images: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(REPO)
    expected = {t.task_id for t in compile_all(ProjectPaths(REPO))}

    code = main(["validate", "--jobs-dir", str(tmp_path / "validate")])

    out = capsys.readouterr().out
    rows = {m["task"]: m for m in map(ROW.match, out.splitlines()) if m}
    assert set(rows) == expected, out
    bad = [t for t, m in rows.items() if "BAD" in (m["oracle"], m["nop"])]
    assert not bad, out
    assert f"\n{len(expected)} tasks · 0 calibration failures" in out, out
    assert code == 0, out
