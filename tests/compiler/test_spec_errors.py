"""Malformed specs: one `file: field.path: expected, found` line each, nothing written."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import yaml

from tests.compiler.conftest import (
    CliResult,
    Project,
    age_tree,
    dir_listing,
    run_subprocess,
    snapshot,
    spec_yaml,
)

ISSUE_LINE = re.compile(r"^tasks-spec/[\w./-]+\.ya?ml( \[[^\]]*\])?: \S.*: \S.*$")


@dataclass(frozen=True)
class BadSpec:
    files: dict[str, str]
    """Relative to tasks-spec/ -> text."""
    names: tuple[str, ...]
    """What the error line for the (first) file must contain: the field path, the value..."""


def _without(field: str, task_id: str) -> str:
    data = yaml.safe_load(spec_yaml(task_id))
    del data[field]
    return yaml.safe_dump(data, sort_keys=False)


def _lines_at(text: str, line: int, bad: str) -> str:
    lines = text.splitlines()
    lines.insert(line - 1, bad)
    return "\n".join(lines) + "\n"


CHECK = {"kind": "command", "name": "ok", "run": "true"}
MATRIX = yaml.safe_dump({"matrix": {"svc": ["alpha", "beta"]}}) + "---\n"

CASES: dict[str, BadSpec] = {
    "unknown-field": BadSpec(
        {"remediation/unknown-field.yaml": spec_yaml("unknown-field", titel="Oops")},
        ("titel", "did you mean 'title'"),
    ),
    "unknown-nested-field": BadSpec(
        {
            "remediation/nested-field.yaml": spec_yaml(
                "nested-field", environment={"packagse": ["curl"]}
            )
        },
        ("environment.packagse", "did you mean 'packages'"),
    ),
    "wrong-enum": BadSpec(
        {"remediation/wrong-enum.yaml": spec_yaml("wrong-enum", difficulty="extreme")},
        ("difficulty", "extreme", "easy", "medium", "hard"),
    ),
    "missing-required": BadSpec(
        {"remediation/missing.yaml": _without("solution", "missing")},
        ("solution", "required"),
    ),
    "bad-regex": BadSpec(
        {
            "remediation/bad-regex.yaml": spec_yaml(
                "bad-regex", checks=[{**CHECK, "stdout_matches": "(unclosed"}]
            )
        },
        ("checks[0].stdout_matches", "regular expression", "(unclosed"),
    ),
    "bad-promql": BadSpec(
        {
            "remediation/bad-promql.yaml": spec_yaml(
                "bad-promql",
                environment={"sidecars": ["o11y"]},
                checks=[CHECK, {"kind": "promql", "name": "rate", "query": "rate(up[5m]"}],
            )
        },
        ("checks[1].query", "PromQL", "rate(up[5m]"),
    ),
    "unknown-check-kind": BadSpec(
        {
            "remediation/bad-kind.yaml": spec_yaml(
                "bad-kind", checks=[CHECK, {"kind": "shell", "name": "s", "run": "ls"}]
            )
        },
        ("checks[1]", "'shell'", "command", "promql"),
    ),
    "duplicate-ids": BadSpec(
        {
            "remediation/first.yaml": spec_yaml("same-id"),
            "remediation/second.yaml": spec_yaml("same-id"),
        },
        ("same-id", "tasks-spec/remediation/first.yaml", "tasks-spec/remediation/second.yaml"),
    ),
    "matrix-id-clash": BadSpec(
        {"remediation/clash.yaml": MATRIX + spec_yaml("clash", title="{{ svc }}")},
        ("id", "clash", "svc=alpha", "svc=beta"),
    ),
    "undefined-jinja-variable": BadSpec(
        {"remediation/undefined.yaml": spec_yaml("undefined", statement="Fix {{ servce }}.")},
        ("servce", "undefined"),
    ),
    "yaml-syntax": BadSpec(
        {"remediation/syntax.yaml": _lines_at(spec_yaml("syntax"), 3, "tags: web: db")},
        ("line 3", "YAML"),
    ),
    "category-mismatch": BadSpec(
        {"remediation/wrong-dir.yaml": spec_yaml("wrong-dir", category="diagnosis")},
        ("category", "diagnosis", "remediation"),
    ),
    "unknown-sidecar": BadSpec(
        {"remediation/sidecar.yaml": spec_yaml("sidecar", environment={"sidecars": ["grafana"]})},
        ("environment.sidecars", "grafana", "o11y"),
    ),
}


def _assert_clean_failure(result: CliResult) -> None:
    assert result.code != 0
    assert "Traceback" not in result.err
    assert result.err_lines, "no error printed"
    for line in result.err_lines:
        assert ISSUE_LINE.match(line), f"not `file: field: message`: {line!r}"


@pytest.fixture
def synced(project: Project) -> Project:
    """The example project, compiled, with old mtimes so any rewrite shows."""
    assert project.sync().code == 0
    age_tree(project.tasks)
    return project


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_spec_fails_with_one_line_and_writes_nothing(synced: Project, case: str) -> None:
    bad = CASES[case]
    for rel, text in bad.files.items():
        synced.write_spec(rel, text)
    before = snapshot(synced.tasks)
    listing = dir_listing(synced.tasks)

    result = synced.sync()

    _assert_clean_failure(result)
    first = "tasks-spec/" + next(iter(bad.files))
    if case == "duplicate-ids":
        first = "tasks-spec/remediation/second.yaml"
    mine = [line for line in result.err_lines if line.startswith(first)]
    assert len(mine) == 1, result.err
    for needle in bad.names:
        assert needle in mine[0], f"{needle!r} not in {mine[0]!r}"
    assert snapshot(synced.tasks) == before
    assert dir_listing(synced.tasks) == listing


def _load_time_cases() -> list[str]:
    """Cases found while loading specs (all but the compile-time sidecar lookup)."""
    return [c for c in sorted(CASES) if c != "unknown-sidecar"]


def test_all_load_errors_are_reported_in_one_run(empty_project: Project) -> None:
    expected_files: set[str] = set()
    for case in _load_time_cases():
        for rel, text in CASES[case].files.items():
            empty_project.write_spec(rel, text)
            expected_files.add("tasks-spec/" + rel)
    expected_files.discard("tasks-spec/remediation/first.yaml")  # named inside second's line

    result = empty_project.sync()

    _assert_clean_failure(result)
    reported = {line.split(":", 1)[0].split(" [", 1)[0] for line in result.err_lines}
    assert reported == expected_files
    assert not empty_project.tasks.exists()


def test_unknown_sidecar_is_reported_with_other_errors(empty_project: Project) -> None:
    """A sidecar error must not wait until every other spec is fixed."""
    for case in ("unknown-sidecar", "wrong-enum"):
        for rel, text in CASES[case].files.items():
            empty_project.write_spec(rel, text)

    result = empty_project.sync()

    _assert_clean_failure(result)
    assert any(line.startswith("tasks-spec/remediation/sidecar.yaml") for line in result.err_lines)
    assert any(
        line.startswith("tasks-spec/remediation/wrong-enum.yaml") for line in result.err_lines
    )


def test_invalid_spec_on_a_fresh_project_creates_no_tasks_dir(empty_project: Project) -> None:
    empty_project.write_spec("remediation/good.yaml", spec_yaml("good"))
    empty_project.write_spec("remediation/bad.yaml", spec_yaml("bad", difficulty="trivial"))

    result = empty_project.sync()

    _assert_clean_failure(result)
    assert not empty_project.tasks.exists()


def test_list_ids_fails_the_same_way_on_a_bad_spec(empty_project: Project) -> None:
    empty_project.write_spec("remediation/bad.yaml", spec_yaml("bad", difficulty="trivial"))

    result = empty_project.run_cli("sync", "--list-ids")

    _assert_clean_failure(result)
    assert result.out == ""


def test_errors_through_a_real_process_have_no_traceback(empty_project: Project) -> None:
    empty_project.write_spec("remediation/bad.yaml", spec_yaml("bad", difficulty="trivial"))

    proc = run_subprocess(empty_project.root, "sync")

    assert proc.returncode != 0
    _assert_clean_failure(CliResult(proc.returncode, proc.stdout, proc.stderr))
    assert not empty_project.tasks.exists()


def test_yaml_error_in_a_template_spec_names_the_line_of_the_file(empty_project: Project) -> None:
    body = _lines_at(spec_yaml("tmpl-{{ svc }}"), 3, "tags: web: db")
    text = MATRIX + body
    bad_line = text.splitlines().index("tags: web: db") + 1
    empty_project.write_spec("remediation/tmpl.yaml", text)

    result = empty_project.sync()

    _assert_clean_failure(result)
    assert any(f"line {bad_line}:" in line for line in result.err_lines), result.err


# --------------------------------------------------------------------------- hostile specs


def _hostile_spec(task_id: str, statement: str) -> str:
    """A valid spec whose statement is a Jinja expression or text written verbatim."""
    return spec_yaml(task_id, statement="STATEMENT").replace("STATEMENT", statement)


def _next_line(text: str) -> str:
    """`line N` for a line appended after `text`."""
    return f"line {text.count(chr(10)) + 1}"


def _statement_line(text: str) -> str:
    return f"line {text.splitlines().index(next(x for x in text.splitlines() if 'statement' in x)) + 1}"


def _deep_mapping(levels: int) -> str:
    return "".join(f"{'  ' * i}k{i}:\n" for i in range(levels)) + f"{'  ' * levels}v\n"


HOSTILE: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "not-utf8": (
        spec_yaml("latin1", statement="PLACE")
        .replace("PLACE", "caf\udce9")
        .encode("utf-8", "surrogateescape"),
        ("encoding", "UTF-8", "0xe9", "byte offset"),
    ),
    "division-by-zero": (
        _hostile_spec("div", "'{{ 1 // 0 }}'").encode(),
        ("template", _statement_line(_hostile_spec("div", "x")), "ZeroDivisionError"),
    ),
    "recursive-macro": (
        (
            "{% macro m(x) %}{{ m(x) }}{% endmacro %}\n" + _hostile_spec("rec", "'{{ m(1) }}'")
        ).encode(),
        ("template", "line 1", "RecursionError"),
    ),
    "macro-called-wrong": (
        (
            "{% macro m(x) %}{{ x }}{% endmacro %}\n" + _hostile_spec("args", "'{{ m(1, 2, 3) }}'")
        ).encode(),
        ("template", "line 5", "TypeError", "macro 'm'"),
    ),
    "non-string-case-key": (
        ("cases:\n- {1: a}\n---\n" + spec_yaml("case-key")).encode(),
        ("cases[0]", "variable names", "1"),
    ),
    "deep-flow-nesting": (
        (spec_yaml("deep-flow") + "tags: " + "[" * 5000 + "]" * 5000 + "\n").encode(),
        (_next_line(spec_yaml("deep-flow")), "levels of nesting"),
    ),
    "deep-mapping": (
        (spec_yaml("deep-map") + "environment:\n" + _deep_mapping(300)).encode(),
        ("levels of nesting",),
    ),
    "duplicate-key": (
        (spec_yaml("dup-key") + "id: other\n").encode(),
        (_next_line(spec_yaml("dup-key")), "unique key", "'id'", "first on line 1"),
    ),
    "huge-file": (
        (spec_yaml("huge") + "# " + "x" * 1_100_000 + "\n").encode(),
        ("size", "at most 1000000 bytes"),
    ),
    "impossible-date": (
        (spec_yaml("date") + "created: 2020-13-45\n").encode(),
        ("yaml", "ValueError"),
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_spec_gives_one_line_and_writes_nothing(synced: Project, case: str) -> None:
    data, needles = HOSTILE[case]
    path = synced.specs / "remediation" / f"{case}.yaml"
    path.write_bytes(data)
    before = snapshot(synced.tasks)

    result = synced.sync()

    _assert_clean_failure(result)
    assert len(result.err_lines) == 1, result.err
    line = result.err_lines[0]
    assert line.startswith(f"tasks-spec/remediation/{case}.yaml"), line
    for needle in needles:
        assert needle in line, f"{needle!r} not in {line!r}"
    assert snapshot(synced.tasks) == before


def test_deep_nesting_is_refused_without_crashing_the_process(empty_project: Project) -> None:
    """libyaml's C loader segfaults on this; the depth check must come before it."""
    nested = "[" * 300_000 + "]" * 300_000
    empty_project.write_spec("remediation/deep.yaml", spec_yaml("deep") + f"tags: {nested}\n")
    header = "matrix:\n  x: [" + "[" * 300_000 + "]" * 300_000 + "]\n---\n"
    empty_project.write_spec("remediation/deep-header.yaml", header + spec_yaml("deep-h"))

    proc = run_subprocess(empty_project.root, "sync")

    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    result = CliResult(proc.returncode, proc.stdout, proc.stderr)
    _assert_clean_failure(result)
    assert len(result.err_lines) == 2, result.err
    assert all("levels of nesting" in line for line in result.err_lines)
    assert not empty_project.tasks.exists()


def test_a_value_no_serializer_takes_is_a_spec_error(synced: Project) -> None:
    """A lone surrogate (`"\\ud800"` in YAML) loads but cannot be written as UTF-8."""
    synced.write_spec(
        "remediation/surrogate.yaml",
        spec_yaml("surrogate", statement="S").replace("statement: S", 'statement: "\\ud800"'),
    )
    before = snapshot(synced.tasks)

    result = synced.sync()

    _assert_clean_failure(result)
    assert any("surrogate" in line for line in result.err_lines), result.err
    assert snapshot(synced.tasks) == before
