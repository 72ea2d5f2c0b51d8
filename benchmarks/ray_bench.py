"""The same 48-trial nop job through the local executor and through Ray with 2 nodes.

A throwaway project of 16 tiny tasks (no sidecar) x 3 attempts, the nop agent, the same
`--n-concurrent` both ways. Ray's two nodes are `ray start` processes on this machine
(head and worker, `{"docker": N}` each, sharing the one Docker engine), started before
the timed runs: their start-up is reported apart. Each figure is the wall time of the
whole `opsbench job` command (process start, planning, trials, report), after a warm-up
run of each (task images, node images); local and Ray runs alternate, so both see the
same machine, and the medians are compared. Target: Ray within 15% of local.

    uv run python benchmarks/ray_bench.py [--n-concurrent 4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.cluster.local_cluster import LOOPBACK, LocalRayCluster  # noqa: E402

SPEC = """matrix:
  n: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
---
id: bench-{{ n }}
title: marker {{ n }}
difficulty: easy
statement: Write {{ n }} into /root/marker.
environment:
  resources: {cpus: 0.5, memory_mb: 128, pids: 64}
solution:
  - run: echo {{ n }} > /root/marker
checks:
  - kind: file
    name: marker
    path: /root/marker
    contains: "^{{ n }}$"
"""


def make_project(root: Path) -> None:
    (root / "tasks-spec" / "bench").mkdir(parents=True)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "environment", root / "environment")
    (root / "tasks-spec" / "bench" / "bench.yaml").write_text(SPEC)


def timed_job(root: Path, job: str, n_concurrent: int, extra: list[str]) -> float:
    cmd = [*LOOPBACK, "opsbench", "job", "--agent", "nop", "--n-attempts", "3"]
    cmd += ["--job-name", job, "--n-concurrent", str(n_concurrent), "--quiet", *extra]
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(
            f"{job} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
        )
    return time.perf_counter() - t0


def median_trial(root: Path, job: str) -> float:
    """The median seconds one trial took, start to record (where the time goes)."""
    from datetime import datetime

    seconds = []
    for path in (root / "jobs" / job).glob("*/result.json"):
        result = json.loads(path.read_text())
        took = datetime.fromisoformat(result["finished_at"]) - datetime.fromisoformat(
            result["started_at"]
        )
        seconds.append(took.total_seconds())
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-concurrent", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3, help="timed pairs (median reported)")
    args = parser.parse_args()
    n = args.n_concurrent
    with tempfile.TemporaryDirectory(prefix="opsbench-ray-bench-") as tmp:
        root = Path(tmp) / "project"
        make_project(root)
        cluster = LocalRayCluster(Path(tmp) / "ray")
        t0 = time.perf_counter()
        try:
            cluster.start_head({"docker": (n + 1) // 2})
            cluster.add_node({"docker": n // 2 or 1})
            startup = time.perf_counter() - t0
            ray = ["--executor", "ray", "--ray-address", cluster.address]
            timed_job(root, "warm-local", n, ["--task-name", "bench-0"])  # images, tasks/
            timed_job(root, "warm-ray", n, ["--task-name", "bench-0", *ray])  # node images
            local, on_ray = [], []
            for i in range(args.repeat):  # interleaved: both see the same machine
                local.append(timed_job(root, f"local-{i}", n, []))
                on_ray.append(timed_job(root, f"ray-{i}", n, ray))
        finally:
            cluster.stop()
        trial_local, trial_ray = median_trial(root, "local-0"), median_trial(root, "ray-0")
    mid_local, mid_ray = statistics.median(local), statistics.median(on_ray)
    print(f"48 nop trials, --n-concurrent {n}, median of {args.repeat} interleaved runs")
    print(f"  local executor:          {mid_local:7.1f} s  {_runs(local)}")
    print(
        f"  ray, 2 nodes:            {mid_ray:7.1f} s  {_runs(on_ray)}"
        f"  ({(mid_ray / mid_local - 1) * 100:+.0f}% vs local)"
    )
    print(f"  ray cluster start-up:    {startup:7.1f} s  (not counted above)")
    print(f"  median trial: local {trial_local:.1f} s, on a ray node {trial_ray:.1f} s")


def _runs(seconds: list[float]) -> str:
    return "(" + ", ".join(f"{s:.1f}" for s in seconds) + ")"


if __name__ == "__main__":
    main()
