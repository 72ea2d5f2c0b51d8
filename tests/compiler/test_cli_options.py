"""`sync --list-ids`, `sync --path`, `schema --check`, and the CLI as a real process."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.compiler.conftest import (
    REPO,
    Project,
    dir_listing,
    example_spec_files,
    expected_task_count,
    run_subprocess,
    snapshot,
    spec_yaml,
)


def test_list_ids_prints_every_id_and_writes_nothing(project: Project) -> None:
    project.write_spec("diagnosis/extra.yaml", spec_yaml("extra-task"))
    before = dir_listing(project.root)

    result = project.run_cli("sync", "--list-ids")

    assert result.code == 0, result.err
    ids = result.out.split()
    assert len(ids) == len(set(ids))
    assert "extra-task" in ids
    assert "nginx-bad-upstream" in ids
    assert {"log-dir-permissions-billing", "log-dir-permissions-ledger"} <= set(ids)
    expected = sum(expected_task_count(s) for s in example_spec_files()) + 1
    assert len(ids) == expected
    assert dir_listing(project.root) == before


def test_path_compiles_another_spec_directory(project: Project, tmp_path: Path) -> None:
    other = tmp_path / "other-specs"
    (other / "diagnosis").mkdir(parents=True)
    (other / "diagnosis" / "disk-full.yaml").write_text(spec_yaml("disk-full"))
    (other / "diagnosis" / "oom.yaml").write_text(spec_yaml("oom-killer"))
    assert project.sync().code == 0
    before = {t: snapshot(project.tasks / t) for t in project.task_ids()}

    result = project.sync("--path", str(other))

    assert result.code == 0, result.err
    assert project.task_ids() == set(before) | {"disk-full", "oom-killer"}
    assert {t: snapshot(project.tasks / t) for t in before} == before
    meta = project.task_toml("disk-full")["metadata"]
    assert meta["category"] == "diagnosis"


def test_path_compiles_a_single_file(project: Project, tmp_path: Path) -> None:
    spec = tmp_path / "one.yaml"
    spec.write_text(spec_yaml("single-file", category="capacity"))

    result = project.sync("--path", str(spec))

    assert result.code == 0, result.err
    assert project.task_ids() == {"single-file"}
    assert project.task_toml("single-file")["metadata"]["category"] == "capacity"


@pytest.mark.parametrize("name", [p.name for p in example_spec_files()])
def test_path_to_one_repo_spec_lists_its_tasks(project: Project, name: str) -> None:
    """A spec in its category dir compiles alone as it does in the tree (category, snippets)."""
    spec = next(p for p in project.specs.rglob(name) if "_templates" not in p.parts)

    result = project.run_cli("sync", "--list-ids", "--path", str(spec))

    assert result.code == 0, result.err
    assert len(result.out.split()) == expected_task_count(spec)
    assert not project.tasks.exists()


def test_path_to_one_repo_spec_matches_the_full_sync(project: Project) -> None:
    """Compiling a spec alone must not flip its task's checksum (trials would turn stale)."""
    assert project.sync().code == 0
    before = snapshot(project.tasks)
    spec = project.specs / "remediation" / "log-dir-permissions.yaml"

    result = project.sync("--path", str(spec))

    assert result.code == 0, result.err
    assert snapshot(project.tasks) == before


def test_path_to_one_repo_category_matches_the_full_sync(project: Project) -> None:
    """One category directory of the tree compiles alone as in the tree: its templates
    (the tree's `_templates/`), its category, its checksums (`validate --path
    tasks-spec/remediation` once found no template and no category)."""
    assert project.sync().code == 0
    before = snapshot(project.tasks)
    category = project.specs / "remediation"
    ids = {
        t
        for t in project.task_ids()
        if project.task_toml(t)["metadata"]["category"] == "remediation"
    }

    listed = project.run_cli("sync", "--list-ids", "--path", str(category))
    result = project.sync("--path", str(category))

    assert listed.code == 0, listed.err
    assert set(listed.out.split()) == ids
    assert result.code == 0, result.err
    assert snapshot(project.tasks) == before


# --------------------------------------------------------------------------- schema


def test_committed_schema_is_current(project: Project) -> None:
    result = project.run_cli("schema", "--check")

    assert result.code == 0, result.err


def test_schema_check_fails_on_a_stale_schema_and_writes_nothing(project: Project) -> None:
    schema = project.root / "schema" / "task-spec.schema.json"
    data = json.loads(schema.read_text())
    data["properties"].pop("difficulty")
    schema.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    stale = schema.read_bytes()

    result = project.run_cli("schema", "--check")

    assert result.code == 1
    assert schema.read_bytes() == stale

    assert project.run_cli("schema").code == 0
    assert project.run_cli("schema", "--check").code == 0
    assert "difficulty" in json.loads(schema.read_text())["properties"]


def test_schema_check_fails_when_schema_is_missing(project: Project) -> None:
    shutil.rmtree(project.root / "schema")

    assert project.run_cli("schema", "--check").code == 1
    assert not (project.root / "schema").exists()


def test_committed_schema_rejects_unknown_fields() -> None:
    """The schema an editor uses must say what the loader says: no extra fields."""
    schema = json.loads((REPO / "schema" / "task-spec.schema.json").read_text())
    assert schema.get("additionalProperties") is False
    assert {"id", "title", "difficulty", "statement", "solution"} <= set(schema["required"])
    assert schema["properties"]["difficulty"]["enum"] == ["easy", "medium", "hard"]


# --------------------------------------------------------------------------- real processes


def test_sync_in_a_subprocess(project: Project) -> None:
    proc = run_subprocess(project.root, "sync")

    assert proc.returncode == 0, proc.stderr
    assert project.task_ids() == set(project.run_cli("sync", "--list-ids").out.split())
    proc = run_subprocess(project.root, "sync", "--check")
    assert proc.returncode == 0, proc.stderr


def test_uv_run_opsbench_sync(project: Project) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is not on PATH: the project's commands all go through `uv run`")
    proc = subprocess.run(
        [uv, "run", "--project", str(REPO), "opsbench", "sync"],
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    assert "nginx-bad-upstream" in project.task_ids()
    assert (project.tasks / "nginx-bad-upstream" / "task.toml").is_file()
