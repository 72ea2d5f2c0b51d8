"""The release manifest: the committed `release.json` is current, a stale one is caught
without being rewritten, and a manifest can be restricted to some tasks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from opsbench.cli import main
from opsbench.compile import compile_all
from opsbench.models.release import ReleaseManifest
from opsbench.paths import ProjectPaths

REPO = Path(__file__).resolve().parents[2]


def test_committed_release_is_current(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)

    assert main(["release", "--check"]) == 0

    manifest = ReleaseManifest.model_validate_json((REPO / "release.json").read_bytes())
    compiled = {t.task_id: t.checksum for t in compile_all(ProjectPaths(REPO))}
    assert {t.id: t.checksum for t in manifest.tasks} == compiled
    assert manifest.min_attempts == 5


def test_a_stale_release_is_caught_and_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "project"
    for name in ("tasks-spec", "environment", "schema"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "pyproject.toml", root)
    data = json.loads((REPO / "release.json").read_text())
    data["tasks"][0]["checksum"] = "sha256:" + "0" * 64
    stale = json.dumps(data, indent=2, sort_keys=True) + "\n"
    (root / "release.json").write_text(stale)
    monkeypatch.chdir(root)

    assert main(["release", "--check"]) == 1
    assert "release.json: out of date; run `opsbench release`" in capsys.readouterr().err
    assert (root / "release.json").read_text() == stale

    assert main(["release"]) == 0
    assert main(["release", "--check"]) == 0


def test_a_release_restricted_to_some_tasks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    out = tmp_path / "release.json"

    code = main(
        ["release", "--task-name", "nginx-bad-upstream", "--version", "9.9", "--out", str(out)]
    )

    assert code == 0
    manifest = ReleaseManifest.model_validate_json(out.read_bytes())
    assert [t.id for t in manifest.tasks] == ["nginx-bad-upstream"]
    assert manifest.version == "9.9" and manifest.tasks[0].category == "remediation"
    assert (REPO / "release.json").read_text() != out.read_text()


def test_the_metadata_schema_is_strict_like_the_model() -> None:
    schema = json.loads((REPO / "schema" / "submission-metadata.schema.json").read_text())

    assert schema.get("additionalProperties") is False
    assert {"benchmark", "version", "agent", "model", "contact"} <= set(schema["required"])
    party = schema["$defs"]["Party"]
    assert party["additionalProperties"] is False
    assert {"name", "display_name", "organisation", "url"} <= set(party["required"])
