"""Compiling is deterministic, a no-op sync touches nothing, and `--check` writes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.compiler.conftest import (
    Project,
    age_tree,
    copy_project,
    dir_listing,
    snapshot,
    spec_yaml,
)


def _contents(root: Path) -> dict[str, bytes]:
    return {rel: data for rel, (data, _mtime, _mode) in snapshot(root).items()}


def _modes(root: Path) -> dict[str, int]:
    return {rel: mode for rel, (_data, _mtime, mode) in snapshot(root).items()}


def test_compiling_twice_gives_byte_identical_trees(project: Project) -> None:
    assert project.sync().code == 0
    first = _contents(project.tasks)
    first_modes = _modes(project.tasks)
    assert first, "sync wrote nothing"

    shutil.rmtree(project.tasks)
    assert project.sync().code == 0

    assert _contents(project.tasks) == first
    assert _modes(project.tasks) == first_modes


def test_output_does_not_depend_on_where_the_project_lives(
    project: Project, tmp_path: Path
) -> None:
    assert project.sync().code == 0
    elsewhere = copy_project(tmp_path / "somewhere" / "else")
    assert project.run_cli("sync", cwd=elsewhere).code == 0

    assert _contents(elsewhere / "tasks") == _contents(project.tasks)


def test_noop_resync_leaves_every_file_and_mtime_alone(project: Project) -> None:
    assert project.sync().code == 0
    age_tree(project.tasks)
    before = snapshot(project.tasks)
    listing = dir_listing(project.tasks)

    assert project.sync().code == 0

    assert snapshot(project.tasks) == before
    assert dir_listing(project.tasks) == listing


def test_check_exits_zero_when_up_to_date(project: Project) -> None:
    assert project.sync().code == 0
    age_tree(project.tasks)
    before = snapshot(project.tasks)

    result = project.sync("--check")

    assert result.code == 0, result.err
    assert snapshot(project.tasks) == before


def test_check_exits_one_after_a_spec_edit_and_writes_nothing(project: Project) -> None:
    assert project.sync().code == 0
    age_tree(project.tasks)
    before = snapshot(project.tasks)
    spec = project.specs / "remediation" / "nginx-bad-upstream.yaml"
    spec.write_text(spec.read_text().replace("nginx returns 502", "nginx answers 502"))

    result = project.sync("--check")

    assert result.code == 1
    assert "nginx-bad-upstream" in result.err
    assert snapshot(project.tasks) == before


def test_check_exits_one_when_tasks_were_never_compiled(project: Project) -> None:
    result = project.sync("--check")

    assert result.code == 1
    assert not project.tasks.exists()


def test_check_reports_a_removed_spec_without_removing_its_task(project: Project) -> None:
    assert project.sync().code == 0
    before = dir_listing(project.tasks)
    (project.specs / "remediation" / "nginx-bad-upstream.yaml").unlink()

    result = project.sync("--check")

    assert result.code == 1
    assert "nginx-bad-upstream" in result.err
    assert dir_listing(project.tasks) == before


def test_hand_edited_task_file_is_restored(project: Project) -> None:
    assert project.sync().code == 0
    original = _contents(project.tasks)
    instruction = project.tasks / "nginx-bad-upstream" / "instruction.md"
    instruction.write_text("edited by hand\n")
    (project.tasks / "nginx-bad-upstream" / "tests" / "leftover.txt").write_text("x")

    assert project.sync("--check").code == 1
    assert project.sync().code == 0

    assert _contents(project.tasks) == original


# A no-op sync may answer from a record of its last run; none of these changes may hide.


def _synced_twice(project: Project) -> None:
    """Synced, mtimes aged, synced again: whatever a no-op sync keeps is current."""
    assert project.sync().code == 0
    age_tree(project.tasks)
    assert project.sync().code == 0


def test_same_size_hand_edit_is_restored(project: Project) -> None:
    _synced_twice(project)
    original = _contents(project.tasks)
    target = project.tasks / "nginx-bad-upstream" / "instruction.md"
    data = target.read_bytes()
    target.write_bytes(data.replace(b"nginx", b"NGINX", 1))
    assert len(target.read_bytes()) == len(data)

    assert project.sync("--check").code == 1
    assert project.sync().code == 0

    assert _contents(project.tasks) == original


def test_deleted_task_file_and_task_dir_come_back(project: Project) -> None:
    _synced_twice(project)
    original = _contents(project.tasks)
    (project.tasks / "nginx-bad-upstream" / "tests" / "spec.json").unlink()
    shutil.rmtree(project.tasks / "log-dir-permissions-billing")

    assert project.sync("--check").code == 1
    assert project.sync().code == 0

    assert _contents(project.tasks) == original


def test_extra_file_in_a_task_is_removed(project: Project) -> None:
    _synced_twice(project)
    original = _contents(project.tasks)
    extra = project.tasks / "nginx-bad-upstream" / "environment" / "files" / "stray.conf"
    extra.parent.mkdir(parents=True, exist_ok=True)
    extra.write_text("x = 1\n")

    assert project.sync("--check").code == 1
    assert project.sync().code == 0

    assert _contents(project.tasks) == original


def test_spec_edit_after_noop_syncs_is_compiled(project: Project) -> None:
    _synced_twice(project)
    assert project.sync().code == 0
    spec = project.specs / "remediation" / "nginx-bad-upstream.yaml"
    spec.write_text(spec.read_text().replace("difficulty: medium", "difficulty: hard"))

    assert project.sync().code == 0

    assert project.task_toml("nginx-bad-upstream")["metadata"]["difficulty"] == "hard"


def test_new_spec_after_noop_syncs_is_compiled(project: Project) -> None:
    _synced_twice(project)
    project.write_spec("remediation/late.yaml", spec_yaml("late-arrival"))

    assert project.sync("--check").code == 1
    assert project.sync().code == 0

    assert "late-arrival" in project.task_ids()
