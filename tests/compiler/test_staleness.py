"""Checksums follow their inputs exactly; stale task dirs go, hand-made ones stay."""

from __future__ import annotations

import re

from tests.compiler.conftest import Project, run_subprocess, snapshot, spec_yaml

SNIPPET = "nginx_rules.yaml.j2"


def _changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    assert set(before) == set(after)
    return {t for t in before if before[t] != after[t]}


def test_editing_one_spec_changes_only_its_tasks_checksums(project: Project) -> None:
    assert project.sync().code == 0
    before = project.checksums()
    spec = project.specs / "remediation" / "nginx-bad-upstream.yaml"
    spec.write_text(spec.read_text().replace("restore service.", "restore service quickly."))

    assert project.sync().code == 0

    assert _changed(before, project.checksums()) == {"nginx-bad-upstream"}


def test_editing_a_matrix_spec_changes_each_of_its_tasks(project: Project) -> None:
    assert project.sync().code == 0
    before = project.checksums()
    spec = project.specs / "remediation" / "log-dir-permissions.yaml"
    made = {t for t in before if project.task_toml(t)["metadata"]["source"].endswith(spec.name)}
    assert len(made) >= 2
    spec.write_text(spec.read_text().replace("difficulty: easy", "difficulty: medium"))

    assert project.sync().code == 0

    assert _changed(before, project.checksums()) == made


def test_editing_a_snippet_changes_exactly_the_tasks_that_include_it(project: Project) -> None:
    project.write_spec(
        "remediation/also-uses-snippet.yaml",
        spec_yaml("also-uses-snippet")
        + 'compliance:\n{% set conf = "/etc/x.conf" %}\n'
        + f'{{% include "{SNIPPET}" %}}\n',
    )
    assert project.sync().code == 0
    includers = set()
    for spec in project.specs.rglob("*.yaml"):
        if re.search(r'{%\s*include\s+"' + re.escape(SNIPPET) + '"', spec.read_text()):
            includers.add(spec.relative_to(project.root).as_posix())
    expected = {
        t for t in project.task_ids() if project.task_toml(t)["metadata"]["source"] in includers
    }
    assert "also-uses-snippet" in expected and len(expected) < len(project.task_ids())
    before = project.checksums()
    snippet = project.specs / "_templates" / SNIPPET
    snippet.write_text(snippet.read_text().replace("before reloading it.", "before a reload."))

    assert project.sync().code == 0

    assert _changed(before, project.checksums()) == expected


def test_environment_build_context_change_marks_every_task_stale(project: Project) -> None:
    assert project.sync().code == 0
    before = project.checksums()
    dockerfile = project.root / "environment" / "base" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "\n# a new layer\n")

    # A new process, as a user runs it: the digest of environment/ is taken once per run.
    result = run_subprocess(project.root, "sync")
    assert result.returncode == 0, result.stderr

    assert _changed(before, project.checksums()) == set(before)


def test_removing_a_spec_removes_its_task_dir(project: Project) -> None:
    assert project.sync().code == 0
    assert "nginx-bad-upstream" in project.task_ids()
    others = project.task_ids() - {"nginx-bad-upstream"}
    kept_before = {t: snapshot(project.tasks / t) for t in others}
    (project.specs / "remediation" / "nginx-bad-upstream.yaml").unlink()

    assert project.sync().code == 0

    assert project.task_ids() == others
    assert {t: snapshot(project.tasks / t) for t in others} == kept_before


def test_hand_made_task_dirs_are_left_alone(project: Project) -> None:
    assert project.sync().code == 0
    no_toml = project.tasks / "my-scratch"
    (no_toml / "notes").mkdir(parents=True)
    (no_toml / "notes" / "todo.md").write_text("keep me\n")
    foreign = project.tasks / "harbor-hello"
    foreign.mkdir()
    (foreign / "task.toml").write_text(
        '[task]\nname = "someone/hello"\n\n[metadata]\nauthor = "me"\n'
    )
    other_generator = project.tasks / "other-gen"
    other_generator.mkdir()
    (other_generator / "task.toml").write_text('[metadata]\ngenerator = "not-opsbench"\n')
    broken = project.tasks / "broken-toml"
    broken.mkdir()
    (broken / "task.toml").write_text("this is = = not toml\n")
    hand_made = [no_toml, foreign, other_generator, broken]
    before = {p.name: snapshot(p) for p in hand_made}

    assert project.sync().code == 0

    assert {p.name: snapshot(p) for p in hand_made} == before
