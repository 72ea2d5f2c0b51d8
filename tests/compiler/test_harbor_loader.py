"""Every generated task loads with Harbor's own `Task` (harbor 0.25, Python >= 3.12).

Harbor needs a newer Python than opsbench, so it runs in its own environment made by uv
in a subprocess. The first run downloads harbor into uv's cache; later runs install from
the cache in seconds.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.compiler.conftest import Project, spec_yaml

HARBOR = "harbor==0.25.0"
OVERRIDES = "certifi>=2024.2.2\n"
"""harbor 0.25 asks for a certifi newer than some package mirrors carry yet; any CA bundle
loads the task model, so the floor is relaxed rather than the test skipped."""

LOADER = r"""
import json, sys, tomllib
from pathlib import Path
from pydantic import BaseModel
from harbor.models.task.task import Task

def ignored(data, model, where):
    # Harbor's models drop unknown keys silently: report every key it would ignore.
    out = []
    for key, value in data.items():
        field = type(model).model_fields.get(key)
        if field is None:
            out.append(where + key)
            continue
        sub = getattr(model, key)
        if isinstance(value, dict) and isinstance(sub, BaseModel):
            out += ignored(value, sub, where + key + ".")
    return out

report = {}
for arg in sys.argv[1:]:
    task = Task(Path(arg))
    cfg = task.config
    raw = tomllib.loads((Path(arg) / "task.toml").read_text())
    report[Path(arg).name] = {
        "name": task.name,
        "instruction": task.instruction,
        "metadata": cfg.metadata,
        "ignored": ignored({k: v for k, v in raw.items() if k != "metadata"}, cfg, ""),
        "agent_timeout_sec": cfg.agent.timeout_sec,
        "verifier_timeout_sec": cfg.verifier.timeout_sec,
        "cpus": cfg.environment.cpus,
        "memory_mb": cfg.environment.memory_mb,
        "network_mode": cfg.environment.network_mode.value,
    }
print(json.dumps(report))
"""


def _is_312(python: str) -> bool:
    try:
        proc = subprocess.run(
            [python, "-c", "import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def find_python312(uv: str) -> str | None:
    """A Python >= 3.12 on this machine: uv's own search, then pyenv and PATH."""
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    proc = subprocess.run(
        [uv, "python", "find", ">=3.12"], capture_output=True, text=True, env=env, check=False
    )
    candidates = [proc.stdout.strip()] if proc.returncode == 0 else []
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/3.1[2-9]*/bin/python3"), reverse=True)
    for minor in range(19, 11, -1):
        found = shutil.which(f"python3.{minor}")
        if found:
            candidates.append(found)
    return next((c for c in candidates if c and _is_312(c)), None)


@pytest.fixture(scope="session")
def harbor_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is not on PATH; it is needed to install harbor for this test")
    python = find_python312(uv)
    if python is None:
        pytest.fail(
            "no Python >= 3.12 found (harbor 0.25 needs one): tried `uv python find >=3.12`, "
            "~/.pyenv/versions/3.12+ and python3.12+ on PATH; install one, e.g. "
            "`uv python install 3.12` or `pyenv install 3.12`"
        )
    where = tmp_path_factory.mktemp("harbor")
    overrides = where / "overrides.txt"
    overrides.write_text(OVERRIDES)
    venv = where / "venv"
    steps = [
        [uv, "venv", "--quiet", "--python", python, str(venv)],
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            "--overrides",
            str(overrides),
            HARBOR,
        ],
    ]
    for argv in steps:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
        if proc.returncode != 0:
            pytest.fail(f"installing {HARBOR} failed: {' '.join(argv)}\n{proc.stderr}")
    return str(venv / "bin" / "python")


def _load_with_harbor(python: str, task_dirs: list[Path]) -> dict[str, dict[str, object]]:
    proc = subprocess.run(
        [python, "-c", LOADER, *map(str, task_dirs)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"harbor could not load the tasks:\n{proc.stderr}"
    result: dict[str, dict[str, object]] = json.loads(proc.stdout)
    return result


def test_every_generated_task_loads_with_harbor(project: Project, harbor_python: str) -> None:
    custom = {
        "name": "loki",
        "image": "grafana/loki:3.0.0",
        "port": 3100,
        "healthcheck": "wget -qO- localhost:3100/ready",
    }
    project.write_spec(
        "observability/tuned.yaml",
        spec_yaml(
            "tuned-task",
            environment={
                "sidecars": ["o11y"],
                "custom_sidecars": [custom],
                "network": "internet",
                "resources": {"cpus": 2, "memory_mb": 1024},
                "timeouts": {"agent_sec": 432, "verify_sec": 77},
                "agent_user": "sre",
            },
        ),
    )
    assert project.sync().code == 0
    task_dirs = sorted(project.tasks / t for t in project.task_ids())

    report = _load_with_harbor(harbor_python, task_dirs)

    assert set(report) == {d.name for d in task_dirs}
    for task_id, info in report.items():
        assert info["name"] == f"opsbench/{task_id}"
        metadata = info["metadata"]
        assert isinstance(metadata, dict)
        assert metadata["generator"] == "opsbench"
        assert str(metadata["checksum"]).startswith("sha256:")
        assert info["ignored"] == [], f"{task_id}: Harbor ignores {info['ignored']}"
        instruction = (project.tasks / task_id / "instruction.md").read_text()
        assert info["instruction"] == instruction
    tuned = report["tuned-task"]
    assert tuned["agent_timeout_sec"] == 432
    assert tuned["verifier_timeout_sec"] == 77
    assert tuned["cpus"] == 2
    assert tuned["memory_mb"] == 1024
    assert tuned["network_mode"] == "public"
    assert report["nginx-bad-upstream"]["agent_timeout_sec"] == 600
    assert report["nginx-bad-upstream"]["network_mode"] == "no-network"
