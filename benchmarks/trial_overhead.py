"""Trial overhead vs. the floor of starting a container at all.

Floor: `docker run --rm <base> true` (through the Docker SDK: create, start, wait,
remove). Trial: a full nop trial of a task with one sidecar — provision (network, sidecar
waited healthy, main container), prepare, agent, verify, teardown — minus nothing. Also
the provision+restore phases alone (the issue's "provision + teardown"). Medians over N
repeats; target: trial at most 3x the floor.

Then the trusted verifier's cost, in the same run: trials alternate between the trusted
verifier (opsbench's own container joined for the verify phase, the default) and the
previous way (grading through the task container's own root handle). Target: at most
0.5 s more per trial.

    uv run python benchmarks/trial_overhead.py [--repeats 10]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from opsbench.builtin_images import TASK_BASE
from opsbench.compile import read_task_checksum
from opsbench.models.trial import TrialConfig
from opsbench.paths import ProjectPaths, TaskPaths
from opsbench.runtime.base import EnvironmentPlan, SandboxVerifier, TrialEnvironment, TrialLog
from opsbench.runtime.docker import client
from opsbench.runtime.environment import DockerRuntime
from opsbench.sync import sync
from opsbench.trial.run import run_trial

REPO = Path(__file__).resolve().parents[1]

SPEC = """
id: overhead
title: overhead probe
category: bench
difficulty: easy
statement: nothing to do
environment:
  custom_sidecars:
    - name: web
      image: opsbench-base:2
      port: 8000
      command: ["python3", "-m", "http.server", "8000"]
      healthcheck: "curl -sf http://localhost:8000/ >/dev/null"
solution:
  - run: "true"
checks:
  - kind: command
    name: trivially-true
    run: "true"
"""


class UntrustedRuntime(DockerRuntime):
    """Grades through the task container's own root handle: the way before the verifier."""

    def provision(
        self, plan: EnvironmentPlan, timeout: float, trial_log: TrialLog
    ) -> TrialEnvironment:
        env = super().provision(plan, timeout, trial_log)
        env.open_verifier = lambda: SandboxVerifier(env.verifier)  # type: ignore[method-assign]
        return env


def floor_once() -> float:
    t0 = time.perf_counter()
    client().containers.run(TASK_BASE, "true", remove=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--show-log", action="store_true", help="print one trial.log")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
        shutil.copytree(REPO / "environment" / "base", root / "environment" / "base")
        (root / "tasks-spec" / "bench").mkdir(parents=True)
        (root / "tasks-spec" / "bench" / "overhead.yaml").write_text(SPEC)
        project = ProjectPaths(root)
        sync(project)
        task = TaskPaths(project.tasks / "overhead")
        floor_once()  # warm
        floors = [floor_once() for _ in range(args.repeats)]
        trials, setup_teardown = [], []
        verify = {"trusted": [], "untrusted": []}
        totals: dict[str, list[float]] = {"trusted": [], "untrusted": []}
        for i in range(2 * args.repeats + 1):
            mode = "trusted" if i % 2 else "untrusted"
            runtime = DockerRuntime() if mode == "trusted" else UntrustedRuntime()
            cfg = TrialConfig(
                job_name="bench",
                trial_name=f"overhead__{i + 1}",
                task_id="overhead",
                attempt=i + 1,
                task_dir=str(task.dir),
                task_checksum=read_task_checksum(task),
                agent="nop",
                scenario_time=datetime.now(UTC),
            )
            t0 = time.perf_counter()
            result = run_trial(cfg, root / "jobs" / "bench" / f"overhead__{i + 1}", runtime=runtime)
            elapsed = time.perf_counter() - t0
            if i == 0:
                continue  # the first builds the task image
            assert result.outcome == "graded", result.exception
            if i == 2 and args.show_log:
                print((root / "jobs" / "bench" / f"overhead__{i + 1}" / "trial.log").read_text())
            phases = json.loads(result.model_dump_json())["phases"]
            verify[mode].append(phases["verify"]["seconds"] + phases["restore"]["seconds"])
            totals[mode].append(elapsed)
            if mode == "trusted":
                trials.append(elapsed)
                setup_teardown.append(phases["provision"]["seconds"] + phases["restore"]["seconds"])
    floor = statistics.median(floors)
    trial = statistics.median(trials)
    pt = statistics.median(setup_teardown)
    print(f"floor  docker run --rm {TASK_BASE} true : median {floor:.3f}s")
    print(
        f"nop trial with one sidecar (all phases)   : median {trial:.3f}s  ({trial / floor:.2f}x floor)"
    )
    print(
        f"  of which provision + teardown           : median {pt:.3f}s  ({pt / floor:.2f}x floor)"
    )
    verdict = "met" if pt <= 3 * floor else "NOT met"
    print(f"target: provision + teardown <= 3x floor -> {verdict}")
    v_old, v_new = statistics.median(verify["untrusted"]), statistics.median(verify["trusted"])
    t_old, t_new = statistics.median(totals["untrusted"]), statistics.median(totals["trusted"])
    print(f"verify + teardown, task's own handle      : median {v_old:.3f}s (trial {t_old:.3f}s)")
    print(f"verify + teardown, trusted verifier       : median {v_new:.3f}s (trial {t_new:.3f}s)")
    added = t_new - t_old
    print(
        f"trusted verifier adds {added:+.3f}s per trial -> {'met' if added <= 0.5 else 'NOT met'} (<= 0.5 s)"
    )


if __name__ == "__main__":
    main()
