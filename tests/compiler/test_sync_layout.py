"""`opsbench sync` writes Harbor-layout task directories for every spec."""

from __future__ import annotations

import itertools
import os
import re
from collections import Counter
from pathlib import Path

import yaml

from tests.compiler.conftest import (
    REPO,
    Project,
    example_spec_files,
    expected_task_count,
    spec_yaml,
)

HARBOR_FILES = (
    "task.toml",
    "instruction.md",
    "environment/Dockerfile",
    "tests/test.sh",
    "solution/solve.sh",
)


def test_every_example_spec_becomes_harbor_tasks(project: Project) -> None:
    result = project.sync()
    assert result.code == 0, result.err

    made_by: Counter[str] = Counter()
    for task_id in project.task_ids():
        task_dir = project.tasks / task_id
        for rel in HARBOR_FILES:
            assert (task_dir / rel).is_file(), f"{task_id}: missing {rel}"
        for script in ("tests/test.sh", "solution/solve.sh"):
            assert os.access(task_dir / script, os.X_OK), f"{task_id}: {script} not executable"
        meta = project.task_toml(task_id)["metadata"]
        made_by[meta["source"]] += 1

    specs = example_spec_files()
    assert specs, "the repository has no example specs"
    for spec in specs:
        source = spec.relative_to(REPO).as_posix()
        assert made_by[source] == expected_task_count(spec), source
        has_sidecars = re.search(r"^\s+(custom_)?sidecars:", spec.read_text(), re.M) is not None
        for task_id in project.task_ids():
            if project.task_toml(task_id)["metadata"]["source"] == source:
                compose = project.tasks / task_id / "environment" / "docker-compose.yaml"
                assert compose.is_file() == has_sidecars, f"{task_id}: compose file"
    assert sum(made_by.values()) == sum(expected_task_count(s) for s in specs)


def test_matrix_expands_into_one_task_per_combination(empty_project: Project) -> None:
    matrix = {"region": ["eu", "us"], "tier": ["web", "db", "cache"]}
    header = yaml.safe_dump({"matrix": matrix})
    body = spec_yaml("svc-{{ region }}-{{ tier }}", title="{{ tier }} in {{ region }}")
    empty_project.write_spec("remediation/svc.yaml", header + "---\n" + body)

    result = empty_project.sync()

    assert result.code == 0, result.err
    expected = {f"svc-{r}-{t}" for r, t in itertools.product(matrix["region"], matrix["tier"])}
    assert empty_project.task_ids() == expected
    for region, tier in itertools.product(matrix["region"], matrix["tier"]):
        doc = empty_project.task_toml(f"svc-{region}-{tier}")
        assert doc["task"]["description"] == f"{tier} in {region}"
        assert doc["metadata"]["params"] == {"region": region, "tier": tier}


def test_matrix_cases_add_explicit_combinations(empty_project: Project) -> None:
    header = yaml.safe_dump({"cases": [{"name": "alpha"}, {"name": "beta"}]})
    empty_project.write_spec(
        "remediation/cases.yaml", header + "---\n" + spec_yaml("case-{{ name }}")
    )

    assert empty_project.sync().code == 0
    assert empty_project.task_ids() == {"case-alpha", "case-beta"}


def test_compose_file_only_for_tasks_with_sidecars(empty_project: Project) -> None:
    custom = {
        "name": "grafana",
        "image": "grafana/grafana:11.0.0",
        "port": 3000,
        "healthcheck": "wget -qO- localhost:3000/api/health",
    }
    empty_project.write_spec(
        "remediation/with-sidecars.yaml",
        spec_yaml("with-sidecars", environment={"sidecars": ["o11y"], "custom_sidecars": [custom]}),
    )
    empty_project.write_spec("remediation/plain.yaml", spec_yaml("plain"))

    assert empty_project.sync().code == 0

    compose_path = empty_project.tasks / "with-sidecars" / "environment" / "docker-compose.yaml"
    compose = yaml.safe_load(compose_path.read_text())
    services = compose["services"]
    assert set(services) == {"main", "o11y", "grafana"}
    assert set(services["main"]["depends_on"]) == {"o11y", "grafana"}
    assert services["grafana"]["image"] == custom["image"]
    assert "healthcheck" in services["o11y"]
    assert not (empty_project.tasks / "plain" / "environment" / "docker-compose.yaml").exists()


def test_instruction_carries_statement_and_compliance_rules(empty_project: Project) -> None:
    rules = [
        {"kind": "forbid", "name": "no-rm", "pattern": r"rm\s+-rf", "instruct": "Never rm -rf."},
        {"kind": "require", "name": "status", "pattern": "systemctl status", "instruct": ""},
        {
            "kind": "order",
            "name": "test-first",
            "first": "nginx -t",
            "then": "reload",
            "instruct": "Test before you reload.",
        },
    ]
    statement = "The queue is stuck; drain it."
    empty_project.write_spec(
        "remediation/rules.yaml", spec_yaml("rules", statement=statement, compliance=rules)
    )

    assert empty_project.sync().code == 0

    text = (empty_project.tasks / "rules" / "instruction.md").read_text()
    assert statement in text
    assert "Never rm -rf." in text
    assert "Test before you reload." in text
    assert text.index("Never rm -rf.") < text.index("Test before you reload.")


def test_example_instructions_include_snippet_rules(project: Project) -> None:
    """Rules pulled in from `_templates/` reach the instruction like inline ones."""
    assert project.sync().code == 0
    for spec in example_spec_files():
        text = spec.read_text()
        instructs = re.findall(r"^\s*instruct:\s*(.+?)\s*$", text, re.M)
        for snippet in re.findall(r'{%\s*include\s+"([^"]+)"', text):
            snippet_text = (REPO / "tasks-spec" / "_templates" / snippet).read_text()
            instructs += re.findall(r"^\s*instruct:\s*(.+?)\s*$", snippet_text, re.M)
        made = [
            t
            for t in project.task_ids()
            if project.task_toml(t)["metadata"]["source"] == spec.relative_to(REPO).as_posix()
        ]
        for task_id in made:
            instruction = (project.tasks / task_id / "instruction.md").read_text()
            for line in instructs:
                assert "{{" in line or line in instruction, f"{task_id}: missing rule {line!r}"


def test_every_repo_spec_points_at_an_existing_schema() -> None:
    pattern = re.compile(r"^#\s*yaml-language-server:\s*\$schema=(\S+)\s*$", re.M)
    for spec in example_spec_files():
        match = pattern.search(spec.read_text())
        assert match, f"{spec.relative_to(REPO)}: no `# yaml-language-server: $schema=` comment"
        target = (spec.parent / match.group(1)).resolve()
        assert target.is_file(), f"{spec.relative_to(REPO)}: schema {match.group(1)} not found"


def test_spec_files_baked_into_the_image(empty_project: Project) -> None:
    files = {"/etc/app/app.conf": "port = 8080\n", "/usr/local/bin/run-app": "#!/bin/sh\n"}
    empty_project.write_spec(
        "remediation/files.yaml", spec_yaml("files", environment={"files": files})
    )

    assert empty_project.sync().code == 0

    env_dir = empty_project.tasks / "files" / "environment"
    for path, content in files.items():
        assert (env_dir / "files" / Path(path).relative_to("/")).read_text() == content
