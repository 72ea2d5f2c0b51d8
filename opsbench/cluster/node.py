"""What runs on a Ray node: its runner actor, its images, its trials, its cleanup.

A node needs Docker, opsbench installed (the same version as the driver) and nothing
else: the shared build contexts and each task's directory arrive as tar bytes from the
driver and are unpacked once per digest under the node's scratch directory
(`OPSBENCH_NODE_DIR`, default `<tmp>/opsbench-node`). The shared images (upstream base,
opsbench-base, sidecars, verifier) are made with the same functions `opsbench preflight`
uses, once per node runner and build-context digest (and Docker's digest labels keep a
second process from rebuilding). The trial itself is the ordinary template
(`opsbench.trial.run.run_trial`) against this node's engine; its directory goes back to
the driver as tar bytes and is deleted here.

A trial's scratch directory names its worker (`.owner`, as containers do): a worker
killed mid-trial cannot delete it, so `clean_node` sweeps the directories of these jobs
whose worker is gone, as it sweeps their containers.

Containers a remote trial creates carry the Ray worker's `host:pid` as owner (the
process that created them): a worker killed with its driver, or with its node, leaves
containers whose owner is gone, and the next run's `clean_node` removes them on that node.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsbench.cluster.bundle import Bundle, pack, unpack_once
from opsbench.models.trial import TrialConfig

_ready: set[str] = set()
_ready_lock = threading.Lock()


@dataclass(frozen=True)
class NodeInfo:
    """Who a node is, and what its cleanup removed."""

    node_id: str
    host: str
    opsbench_version: str
    removed_containers: int
    removed_networks: int


@dataclass(frozen=True)
class NodeTrial:
    """A finished remote trial: where it ran, and its directory as tar bytes."""

    node_id: str
    host: str
    archive: bytes


def node_dir() -> Path:
    return Path(os.environ.get("OPSBENCH_NODE_DIR") or tempfile.gettempdir()) / "opsbench-node"


def clean_node(job_names: list[str]) -> NodeInfo:
    """Remove these jobs' containers and networks whose creating process is gone."""
    import ray

    from opsbench import __version__
    from opsbench.runtime.docker import remove_leftovers

    containers = networks = 0
    for job in job_names:
        report = remove_leftovers(job)
        containers += report.containers
        networks += report.networks
        sweep_scratch(node_dir() / "runs" / job)
    node_id = ray.get_runtime_context().get_node_id()
    return NodeInfo(node_id, socket.gethostname(), __version__, containers, networks)


def sweep_scratch(runs: Path) -> int:
    """Delete the trial scratch directories under `runs` whose worker is gone."""
    from opsbench.runtime.docker import owner_alive

    removed = 0
    for trial_dir in sorted(runs.glob("*")) if runs.is_dir() else []:
        owner = trial_dir / ".owner"
        tag = owner.read_text(encoding="utf-8").strip() if owner.is_file() else ""
        if not owner_alive(tag):
            shutil.rmtree(trial_dir, ignore_errors=True)
            removed += 1
    return removed


def ensure_shared_images(environment: Bundle) -> Path:
    """The shared images of this build-context bundle on this node's engine; returns
    where the contexts are unpacked."""
    from opsbench.builtin_images import VERIFIER_CONTEXT
    from opsbench.runtime import images

    env_dir = unpack_once(environment, node_dir() / "environment")
    with _ready_lock:
        if environment.digest in _ready:
            return env_dir
        images.ensure_upstream_base()
        images.ensure_task_base(env_dir, images.resolve_ca_bundle(None))
        images.ensure_sidecars(env_dir)
        if (env_dir / VERIFIER_CONTEXT).is_dir():
            images.ensure_verifier(env_dir)
        _ready.add(environment.digest)
    return env_dir


class NodeRunner:
    """One per Docker node for the length of a run (a Ray actor, threaded): the node's
    trials run in its threads, as a local executor runs them, so the node pays for one
    worker process, its imports, its cleanup and its images once instead of per trial.

    Built by the driver with the node's whole `docker` resource and `max_concurrency`
    equal to it; calls beyond that queue in the actor."""

    def __init__(self, environment: Bundle) -> None:
        from opsbench.cluster.limits import cluster_gates
        from opsbench.providers.limits import default_registry
        from opsbench.trial import run as _warm  # noqa: F401  (imported before the first trial)

        self.cancelled = threading.Event()
        self.coordinator: Any = None
        """The run's `Coordinator`, brought by the first trial that calls a model."""
        default_registry().use_factory(cluster_gates(lambda: self.coordinator))
        ensure_shared_images(environment)

    def clean(self, job_names: list[str]) -> NodeInfo:
        """Before the run's first trial: remove what killed runs of these jobs left on
        this node; says who the node is."""
        return clean_node(job_names)

    def run(
        self, config: TrialConfig, task: Bundle, coordinator: Any, credentials: dict[str, str]
    ) -> NodeTrial:
        """One trial. A trial that calls a model brings the run's `coordinator` (a
        handle) and the driver's provider `credentials`, which this runner's process
        then has in its environment (where LiteLLM looks) for the rest of the run."""
        if coordinator is not None:
            self.coordinator = coordinator
        os.environ.update(credentials)
        return run_trial_here(config, task, self.cancelled)

    def cancel(self) -> None:
        """The run is cancelled: every trial here tears down and records `cancelled`, as
        a local trial does. Called in the actor's `control` concurrency group, so it
        runs while every trial slot is busy."""
        self.cancelled.set()


CONTROL = "control"
"""The runner's concurrency group for `cancel` (its trials fill the default group)."""


def run_trial_here(config: TrialConfig, task: Bundle, cancel: threading.Event) -> NodeTrial:
    """One trial on this node, its directory returned as tar bytes.

    Model calls (the agent's and the judge's) pass the cluster-wide gates the runner
    installed; `cancel` is the run's cancel flag on this node."""
    import ray

    from opsbench.runtime.docker import owner_tag
    from opsbench.trial.run import run_trial

    node_id = ray.get_runtime_context().get_node_id()
    host = socket.gethostname()
    task_dir = unpack_once(task, node_dir() / "tasks")
    trial_dir = (
        node_dir() / "runs" / config.job_name / f"{config.trial_name}-{uuid.uuid4().hex[:8]}"
    )
    trial_dir.mkdir(parents=True)
    (trial_dir / ".owner").write_text(owner_tag(), encoding="utf-8")
    stamp = datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3]
    (trial_dir / "trial.log").write_text(
        f"{stamp} ray node {node_id} (host {host}, pid {os.getpid()})\n", encoding="utf-8"
    )
    try:
        run_trial(config.model_copy(update={"task_dir": str(task_dir)}), trial_dir, cancel)
        return NodeTrial(node_id, host, pack(trial_dir).data)
    finally:
        shutil.rmtree(trial_dir, ignore_errors=True)
