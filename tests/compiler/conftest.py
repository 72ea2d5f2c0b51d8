"""Fixtures for the task-spec compiler tests.

Every test works on a throwaway copy of the project (`tasks-spec/`, `environment/`,
`schema/`, `pyproject.toml`) and runs the real CLI in-process, with the working directory
pointed at that copy so `find_root` lands there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsbench.cli import main

REPO = Path(__file__).resolve().parents[2]
COPIED = ("tasks-spec", "environment", "schema", "pyproject.toml")


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


@dataclass
class Project:
    root: Path
    run_cli: Callable[..., CliResult]

    @property
    def specs(self) -> Path:
        return self.root / "tasks-spec"

    @property
    def tasks(self) -> Path:
        return self.root / "tasks"

    def sync(self, *args: str) -> CliResult:
        return self.run_cli("sync", *args)

    def write_spec(self, rel: str, text: str) -> Path:
        path = self.specs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def task_ids(self) -> set[str]:
        if not self.tasks.is_dir():
            return set()
        return {p.name for p in self.tasks.iterdir() if p.is_dir()}

    def task_toml(self, task_id: str) -> dict[str, Any]:
        return tomllib.loads((self.tasks / task_id / "task.toml").read_text())

    def checksums(self) -> dict[str, str]:
        return {t: str(self.task_toml(t)["metadata"]["checksum"]) for t in self.task_ids()}


def copy_project(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        elif src.is_file():
            shutil.copy2(src, dest / name)
    return dest


def snapshot(root: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under `root`: relative path -> (bytes, st_mtime_ns, mode)."""
    out: dict[str, tuple[bytes, int, int]] = {}
    if not root.exists():
        return out
    for path in sorted(root.rglob("*")):
        if path.is_file():
            st = path.stat()
            out[path.relative_to(root).as_posix()] = (path.read_bytes(), st.st_mtime_ns, st.st_mode)
    return out


def dir_listing(root: Path) -> list[str]:
    """Every entry (files and directories) under `root`, relative."""
    if not root.exists():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def age_tree(root: Path, mtime_ns: int = 1_000_000_000_000_000_000) -> None:
    """Set every file's mtime to a fixed instant in the past: a rewrite cannot keep it."""
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(mtime_ns, mtime_ns))


def spec_yaml(task_id: str, **fields: Any) -> str:
    """A minimal valid plain spec, with `fields` merged over the defaults."""
    data: dict[str, Any] = {
        "id": task_id,
        "title": f"Task {task_id}",
        "difficulty": "easy",
        "statement": f"Fix {task_id}.",
        "solution": [{"run": "true"}],
        "checks": [{"kind": "command", "name": "ok", "run": "true"}],
    }
    data.update(fields)
    return yaml.safe_dump(data, sort_keys=False)


def example_spec_files() -> list[Path]:
    """The spec files of the repository itself (not the shared snippets)."""
    root = REPO / "tasks-spec"
    return sorted(
        p
        for p in root.rglob("*")
        if p.suffix in {".yaml", ".yml"} and "_templates" not in p.relative_to(root).parts
    )


def expected_task_count(spec: Path) -> int:
    """How many tasks one spec file should make: its matrix's product plus its cases."""
    docs = [d for d in spec.read_text().split("\n---\n")]
    if len(docs) < 2:
        return 1
    try:
        header = yaml.safe_load(docs[0])
    except yaml.YAMLError:
        return 1
    if not isinstance(header, dict) or not set(header) <= {"matrix", "cases"}:
        return 1
    count = 1 if header.get("matrix") else 0
    for values in (header.get("matrix") or {}).values():
        count *= len(values)
    return count + len(header.get("cases") or [])


@pytest.fixture
def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., CliResult]:
    def run(*argv: str, cwd: Path | None = None) -> CliResult:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Callable[..., CliResult]
) -> Iterator[Project]:
    root = copy_project(tmp_path / "proj")
    monkeypatch.chdir(root)
    yield Project(root, run_cli)


@pytest.fixture
def empty_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Callable[..., CliResult]
) -> Iterator[Project]:
    """A project with the repo's environment/ and schema/ but no specs of its own."""
    root = copy_project(tmp_path / "proj")
    shutil.rmtree(root / "tasks-spec")
    (root / "tasks-spec" / "_templates").mkdir(parents=True)
    monkeypatch.chdir(root)
    yield Project(root, run_cli)


def run_subprocess(cwd: Path, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`opsbench ARGV` as a separate process (the console script's module)."""
    return subprocess.run(
        [sys.executable, "-m", "opsbench.cli", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
