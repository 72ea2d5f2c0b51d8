"""The Ray executor against a real local cluster: a head and a worker node (separate
`ray start` processes with their own `docker` resources, sharing this machine's engine).

A job placed on the cluster runs on both nodes and writes the job directory here, as a
local job does; a node killed mid-job turns its trials into `infra_error`, and the resume
completes on the nodes left — never on a node without the `docker` resource; provider
limits hold across nodes. Kept short: the cluster starts once for the module.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbench.runtime.docker import list_labelled
from tests.cluster.local_cluster import LOOPBACK, LocalRayCluster

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]

SPEC = """matrix:
  n: [0, 1, 2]
---
id: ray-marker-{{ n }}
title: write marker {{ n }}
difficulty: easy
statement: Write {{ n }} into /root/marker.
environment:
  resources: {cpus: 0.5, memory_mb: 128, pids: 64}
solution:
  - run: sleep ${SLEEP}; echo {{ n }} > /root/marker
checks:
  - kind: file
    name: marker
    path: /root/marker
    contains: "^{{ n }}$"
"""


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalRayCluster]:
    # Not under pytest's basetemp: Ray's socket paths (108 bytes at most) would not fit
    # under an xdist worker's `pytest-N/popen-gwK/ray0/ray/session_<stamp>/sockets/...`.
    ray_dir = Path(tempfile.mkdtemp(prefix="opsbench-ray-")) / "ray"
    local = LocalRayCluster(ray_dir)
    try:
        local.start_head({"docker": 2})
        local.add_node({"docker": 2})
        yield local
    finally:
        local.stop()
        shutil.rmtree(ray_dir.parent, ignore_errors=True)


def make_project(root: Path, sleep: float) -> Path:
    (root / "tasks-spec" / "basic").mkdir(parents=True)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "environment", root / "environment")
    spec = SPEC.replace("${SLEEP}", str(sleep))
    (root / "tasks-spec" / "basic" / "marker.yaml").write_text(spec)
    return root


def job_command(job: str, address: str, attempts: int) -> list[str]:
    return [
        *LOOPBACK,
        "opsbench",
        "job",
        "--agent",
        "oracle",
        "--n-attempts",
        str(attempts),
        "--job-name",
        job,
        "--n-concurrent",
        "4",
        "--executor",
        "ray",
        "--ray-address",
        address,
        "--quiet",
    ]


def run_job(root: Path, job: str, address: str, attempts: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        job_command(job, address, attempts),
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def trials(job_dir: Path) -> dict[str, dict[str, object]]:
    return {
        d.name: json.loads((d / "result.json").read_text())
        for d in sorted(job_dir.iterdir())
        if (d / "result.json").is_file() and "__" in d.name
    }


def node_of(trial_dir: Path) -> str | None:
    found = re.search(r"ray node ([0-9a-f]+)", (trial_dir / "trial.log").read_text())
    return found.group(1) if found else None


def test_provider_limits_hold_across_nodes_through_a_real_job(
    cluster: LocalRayCluster, tmp_path: Path
) -> None:
    """Two LLM-agent trials, one on each node, call one provider: the run's coordinator
    (made for the first trial that calls a model) spaces their calls by the minimum
    interval, as on one machine. Both reach the scripted model over real HTTP."""
    from tests.fakes.openai_server import FakeOpenAIServer, tool_reply

    interval = 1.5
    root = make_project(tmp_path / "project", sleep=0)
    with FakeOpenAIServer() as server:
        server.push(*[tool_reply("submit_answer", {"answer": "looked"}) for _ in range(2)])
        command = job_command("ray-limits", cluster.address, 1)
        command[command.index("oracle")] = "sre"
        command[command.index("--n-concurrent") + 1] = "2"
        command += ["--model", "openai/scripted", "--api-base", server.url]
        command += ["--min-request-interval", str(interval)]
        command += ["--task-name", "ray-marker-0", "--task-name", "ray-marker-1"]
        env = {**os.environ, "PYTHONPATH": str(REPO), "OPENAI_API_KEY": "sk-test-not-a-secret"}
        done = subprocess.run(
            command, cwd=root, env=env, capture_output=True, text=True, timeout=600
        )
        arrivals = server.arrival_times()
    assert done.returncode == 0, done.stdout + done.stderr
    job = root / "jobs" / "ray-limits"
    found = trials(job)
    assert [r["outcome"] for r in found.values()] == ["graded", "graded"], found
    assert len({node_of(job / name) for name in found}) == 2, "one trial on each node"
    assert len(arrivals) == 2, arrivals
    assert arrivals[1] - arrivals[0] >= interval * 0.8, arrivals


def start_job(
    root: Path, job: str, address: str, attempts: int, concurrent: int = 4
) -> subprocess.Popen[str]:
    """The job in its own process group, so a signal reaches the driver and only it."""
    command = job_command(job, address, attempts)
    command[command.index("--n-concurrent") + 1] = str(concurrent)
    return subprocess.Popen(
        command,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_for_containers(job: str, proc: subprocess.Popen[str], count: int) -> None:
    deadline = time.monotonic() + 300
    while len(list_labelled(job, "containers")) < count:
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, "trials did not start"
        time.sleep(0.3)


def node_scratch(cluster: LocalRayCluster, job: str) -> list[Path]:
    """What trials of `job` left in the nodes' scratch directories."""
    return [p for node in cluster.nodes for p in (node.scratch / "runs" / job).glob("*")]


def test_sigkill_of_the_driver_then_rerun_resumes_and_leaves_nothing_behind(
    cluster: LocalRayCluster, tmp_path: Path
) -> None:
    """The driver dies without a word: its remote trials die with it, leaving containers
    and scratch directories on the nodes; the rerun cleans every node, reruns what had
    no result, and ends with the full job and nothing left over."""
    root = make_project(tmp_path / "project", sleep=10)
    job = start_job(root, "ray-sigkill", cluster.address, attempts=1)
    wait_for_containers("ray-sigkill", job, 3)
    os.killpg(job.pid, 9)
    job.wait(timeout=30)
    assert list_labelled("ray-sigkill", "containers"), "the killed run left its containers"

    proc = run_job(root, "ray-sigkill", cluster.address, attempts=1)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    final = trials(root / "jobs" / "ray-sigkill")
    assert sorted(final) == [f"ray-marker-{n}__1" for n in range(3)]
    assert {r["outcome"] for r in final.values()} == {"graded"}
    assert all(r["rewards"]["reward"] == 1.0 for r in final.values())  # type: ignore[index]
    assert list_labelled("ray-sigkill", "containers") == []
    assert node_scratch(cluster, "ray-sigkill") == []


def test_ctrl_c_cancels_the_remote_trials_and_tears_them_down(
    cluster: LocalRayCluster, tmp_path: Path
) -> None:
    root = make_project(tmp_path / "project", sleep=60)
    job = start_job(root, "ray-ctrl-c", cluster.address, attempts=1)
    wait_for_containers("ray-ctrl-c", job, 3)
    os.killpg(job.pid, 2)
    out, _ = job.communicate(timeout=240)
    assert job.returncode == 130, out
    recorded = trials(root / "jobs" / "ray-ctrl-c")
    assert {r["outcome"] for r in recorded.values()} == {"cancelled"}, recorded
    assert len(recorded) == 3
    assert list_labelled("ray-ctrl-c", "containers") == []


def test_the_pause_file_stops_new_trials_and_the_rerun_finishes(
    cluster: LocalRayCluster, tmp_path: Path
) -> None:
    root = make_project(tmp_path / "project", sleep=4)
    job = start_job(root, "ray-pause", cluster.address, attempts=1, concurrent=1)
    wait_for_containers("ray-pause", job, 1)
    pause = root / "jobs" / "ray-pause" / "PAUSE"
    pause.touch()
    out, _ = job.communicate(timeout=240)
    assert job.returncode == 0, out
    assert "pause file" in out and "not started" in out, out
    assert len(trials(root / "jobs" / "ray-pause")) == 1

    pause.unlink()
    proc = run_job(root, "ray-pause", cluster.address, attempts=1)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(trials(root / "jobs" / "ray-pause")) == 3


def comparable(job_dir: Path) -> dict[str, object]:
    """What must agree between executors: trials, outcomes, rewards, the graded checks,
    and the report's per-task table (timings and node lines aside)."""
    out: dict[str, object] = {}
    for name, result in trials(job_dir).items():
        details = json.loads((job_dir / name / "verifier" / "grading_details.json").read_text())
        checks = sorted((c["name"], c["passed"]) for c in details["checks"])
        out[name] = (result["outcome"], result["rewards"], checks)
    return out


def test_ray_writes_the_same_job_and_report_as_the_local_executor(
    cluster: LocalRayCluster, tmp_path: Path
) -> None:
    """The issue's done-when: the same command with --executor ray writes what the local
    executor writes; its trials ran on both Docker nodes and landed here, each with the
    driver's config, and the run left no container behind."""
    root = make_project(tmp_path / "project", sleep=1)
    proc = run_job(root, "ray-same", cluster.address, attempts=2)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    on_ray = root / "jobs" / "ray-same"
    nodes = {node_of(on_ray / name) for name in trials(on_ray)}
    assert len(nodes) == 2 and None not in nodes, nodes
    for name in trials(on_ray):  # the driver's config, as a local run writes it
        config = json.loads((on_ray / name / "config.json").read_text())
        assert config["task_dir"] == str((root / "tasks" / config["task_id"]).resolve())
    assert list_labelled("ray-same", "containers") == []
    local = job_command("local-same", cluster.address, attempts=2)
    local = local[: local.index("--executor")] + local[local.index("--ray-address") + 2 :]
    done = subprocess.run(
        local,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    here = root / "jobs" / "local-same"
    assert comparable(on_ray) == comparable(here)
    assert len(comparable(here)) == 6
    for job_dir in (on_ray, here):
        assert (job_dir / "run_report.html").is_file()
    names = {p.relative_to(on_ray).as_posix() for p in on_ray.rglob("*") if p.is_file()}
    local_names = {p.relative_to(here).as_posix() for p in here.rglob("*") if p.is_file()}
    assert names == local_names, names ^ local_names


def test_a_dead_node_gives_infra_errors_and_resume_completes_elsewhere(
    cluster: LocalRayCluster, tmp_path: Path
) -> None:
    root = make_project(tmp_path / "project", sleep=12)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    job = subprocess.Popen(
        job_command("ray-death", cluster.address, attempts=1),
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 300
    while len(list_labelled("ray-death", "containers")) < 3:  # all three trials started
        assert job.poll() is None, job.communicate()[0]
        assert time.monotonic() < deadline, "trials did not start"
        time.sleep(0.5)
    time.sleep(2)
    worker = cluster.nodes[1]
    worker.kill()
    out, _ = job.communicate(timeout=400)
    assert job.returncode == 0, out
    job_dir = root / "jobs" / "ray-death"
    first = trials(job_dir)
    outcomes = sorted(str(r["outcome"]) for r in first.values())
    assert "infra_error" in outcomes and "graded" in outcomes, outcomes
    survivors = {node_of(job_dir / n) for n, r in first.items() if r["outcome"] == "graded"}
    assert len(survivors) == 1

    cluster.add_node({})  # a node without Docker: it must never get a trial
    proc = run_job(root, "ray-death", cluster.address, attempts=1)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    final = trials(job_dir)
    assert len(final) == 3
    assert {r["outcome"] for r in final.values()} == {"graded"}
    assert {node_of(job_dir / n) for n in final} == survivors
    assert list((job_dir / ".archive").rglob("result.json")), "the infra_errors were archived"
    assert list_labelled("ray-death", "containers") == []
