"""The driver side of the Ray executor: trials placed on Docker nodes, results written here.

`RayExecutor` connects to the cluster named by `--ray-address` and starts one
`NodeRunner` actor on each node that advertises the custom resource `docker` (a node
advertises it, `ray start --resources '{"docker": N}'`, when it has an engine and room
for N trials), holding all N units and running up to N trials in its threads; so a node
without Docker never gets a trial, and a node pays for its worker process, cleanup and
images once per run, not per trial. `run_all`'s thread pool keeps `--n-concurrent`
trials in flight across the whole cluster, one driver thread waiting on each and
sending it to the live node with the fewest in flight. The task's directory and the
shared build contexts travel through Ray's object store as tar bytes; the trial's
directory comes back the same way and the driver alone writes it under `jobs/<job>/`:
every file first, `config.json` as the driver planned it, `result.json` last and
atomically — what a local trial leaves, plus one `trial.log` line naming the node.
Nodes that join after the run started get no trials of it.

Faults: a remote trial that fails (its node or worker died, its images could not be
made) becomes an `infra_error` trial, which resume reruns; a node whose actor died gets
no more trials. Ctrl-C sets the cancel flag of every node's runner (no trial polls for
it); remote trials tear down on their nodes and send back `cancelled` records. A driver
that dies takes its runners with it (Ray ends an owner's actors): their containers stay,
and the next run's cleanup removes them. Before the first trial, every Docker node
removes what killed runs of these jobs left there.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsbench.cluster.bundle import member, pack, unpack
from opsbench.cluster.limits import Coordinator
from opsbench.cluster.node import CONTROL, NodeInfo, NodeRunner, NodeTrial
from opsbench.errors import OpsbenchError
from opsbench.executor import Executor
from opsbench.failures import Cancelled, InfraError
from opsbench.models.result import TrialResult
from opsbench.models.trajectory import write_json_atomic
from opsbench.models.trial import TrialConfig
from opsbench.paths import TrialPaths

log = logging.getLogger(__name__)

DOCKER_RESOURCE = "docker"
"""The custom Ray resource a node advertises when it can run trials."""
CANCEL_GRACE_SEC = 180.0
"""How long a cancelled remote trial may take to tear down and report before it is
killed (its containers then go with the next run's cleanup)."""
_WAIT = 0.5


@dataclass
class _Runner:
    """A node's `NodeRunner` actor, as the driver tracks it."""

    actor: Any
    in_flight: int = 0
    alive: bool = True


class RayExecutor(Executor):
    """Trials on the Docker nodes of a Ray cluster; the job directory on this machine."""

    name = "ray"

    def __init__(self, address: str | None, environment_dir: Path) -> None:
        self.address = address or os.environ.get("RAY_ADDRESS") or "auto"
        self.environment_dir = environment_dir
        self._coordinator: Any = None
        self._here = ""
        self._runners: list[_Runner] = []
        self._tasks: dict[Path, Any] = {}
        self._lock = threading.Lock()
        self._cancel_sent = False
        self.nodes: list[NodeInfo] = []
        self._start_error: BaseException | None = None
        self._starting: threading.Thread | None = threading.Thread(
            target=self._start_in_background, name="opsbench-ray-start", daemon=True
        )
        self._starting.start()

    # ------------------------------------------------------------------ set-up

    def _start_in_background(self) -> None:
        """Connect and start the node runners while the command compiles and plans
        (importing Ray, joining the cluster and starting a worker process on each node
        take seconds; `prepare` waits for them)."""
        try:
            self._start()
        except BaseException as exc:  # raised again by `prepare`, in the command's thread
            self._start_error = exc

    def _start(self) -> None:
        """Connect, find the Docker nodes, start the coordinator and a runner on each."""
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        self._connect()
        nodes: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
        docker_nodes = [
            n
            for n in nodes
            if n.get("Alive") and n.get("Resources", {}).get(DOCKER_RESOURCE, 0) > 0
        ]
        if not docker_nodes:
            raise OpsbenchError(
                f"no node of the Ray cluster at {self.address} advertises the "
                f"`{DOCKER_RESOURCE}` resource: start each machine that has Docker with "
                f"`ray start ... --resources '{{\"{DOCKER_RESOURCE}\": N}}'`"
            )
        self._here = ray.get_runtime_context().get_node_id()
        environment = ray.put(pack(self.environment_dir))
        runner = ray.remote(concurrency_groups={CONTROL: 1})(NodeRunner)  # type: ignore[call-overload]
        for node in docker_nodes:
            slots = max(1, int(node["Resources"][DOCKER_RESOURCE]))
            actor = runner.options(
                num_cpus=0,
                resources={DOCKER_RESOURCE: slots},
                max_concurrency=slots,
                max_restarts=0,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], False),
            ).remote(environment)
            self._runners.append(_Runner(actor))

    def _join_start(self) -> None:
        if self._starting is None:
            raise OpsbenchError("the Ray executor is closed; make another for another run")
        self._starting.join()
        self._starting = None
        if self._start_error is not None:
            raise self._start_error

    def prepare(self, job_names: list[str]) -> None:
        """Wait for the cluster, then every Docker node removes what killed runs of
        these jobs left there."""
        import ray

        self._join_start()
        self.nodes = ray.get([r.actor.clean.remote(job_names) for r in self._runners])
        self._check_versions()
        for info in self.nodes:
            if info.removed_containers or info.removed_networks:
                log.info(
                    "node %s (%s): removed %d leftover containers, %d networks",
                    info.node_id[:12],
                    info.host,
                    info.removed_containers,
                    info.removed_networks,
                )

    def _connect(self) -> None:
        import ray

        if ray.is_initialized():
            return
        # connecting from the background thread, Ray warns that it installs no SIGTERM
        # handler: the command's own signal handling is the one that applies
        quiet = logging.getLogger("ray._private.worker")
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            ray.init(
                address=self.address,
                logging_level=logging.WARNING,
                log_to_driver=False,
                configure_logging=False,
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise OpsbenchError(
                f"--ray-address {self.address}: cannot connect to a Ray cluster ({exc}); "
                "start one with `ray start --head` (see the README, 'Running on Ray')"
            ) from None
        finally:
            quiet.setLevel(level)

    def _check_versions(self) -> None:
        from opsbench import __version__

        other = [n for n in self.nodes if n.opsbench_version != __version__]
        if other:
            found = ", ".join(f"{n.host}: {n.opsbench_version}" for n in other)
            raise OpsbenchError(
                f"Ray nodes run another opsbench version than this driver ({__version__}): "
                f"{found}; install the same version on every node"
            )

    def close(self) -> None:
        """Disconnect (after the background start, if it is still going): the runners
        and the coordinator end with the connection."""
        import ray

        if self._starting is not None:
            self._starting.join()
            self._starting = None
        self._runners, self._tasks = [], {}
        if ray.is_initialized():
            ray.shutdown()

    # ------------------------------------------------------------------ one trial

    def run_trial(
        self, config: TrialConfig, trial_dir: Path, cancel: threading.Event
    ) -> TrialResult:
        try:
            runner = self._take_runner()
        except InfraError as exc:
            return record_failure(config, trial_dir, exc)
        try:
            call = runner.actor.run.remote(
                config,
                self._task_bundle(config),
                self._coordinator_for(config),
                credentials_for(config),
            )
            done: NodeTrial = self._wait(runner, call, cancel)
        except Exception as exc:
            self._lost(runner, exc)
            return record_failure(config, trial_dir, exc)
        finally:
            with self._lock:
                runner.in_flight -= 1
        return write_trial(config, trial_dir, done)

    def _take_runner(self) -> _Runner:
        """The live node with the fewest trials in flight (its actor queues any beyond
        its slots)."""
        with self._lock:
            live = [r for r in self._runners if r.alive]
            if not live:
                raise InfraError("no Docker node of the Ray cluster is left")
            runner = min(live, key=lambda r: r.in_flight)
            runner.in_flight += 1
            return runner

    def _lost(self, runner: _Runner, exc: BaseException) -> None:
        """A node whose actor died (the node, or its worker) gets no more trials."""
        from ray.exceptions import RayActorError

        if isinstance(exc, RayActorError):
            with self._lock:
                runner.alive = False

    def _coordinator_for(self, config: TrialConfig) -> Any:
        """The run's `Coordinator` (on the driver's node) for a trial that calls a model,
        made at the first such trial; none for the others. An oracle or nop run so never
        pays for its worker process: seconds of CPU on a busy node."""
        if config.model is None and config.judge_model is None:
            return None
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        with self._lock:
            if self._coordinator is None:
                self._coordinator = (
                    ray.remote(Coordinator)
                    .options(
                        num_cpus=0,
                        scheduling_strategy=NodeAffinitySchedulingStrategy(self._here, False),
                    )
                    .remote()
                )
            return self._coordinator

    def _task_bundle(self, config: TrialConfig) -> Any:
        """The task directory in the object store, packed and put once per task."""
        import ray

        task_dir = Path(config.task_dir)
        with self._lock:
            if task_dir not in self._tasks:
                self._tasks[task_dir] = ray.put(pack(task_dir))
            return self._tasks[task_dir]

    def _wait(self, runner: _Runner, ref: Any, cancel: threading.Event) -> NodeTrial:
        import ray

        deadline: float | None = None
        while True:
            ready, _ = ray.wait([ref], timeout=_WAIT)
            if ready:
                result: NodeTrial = ray.get(ref)
                return result
            if cancel.is_set() and deadline is None:
                self._cancel_remote()
                deadline = time.monotonic() + CANCEL_GRACE_SEC
            if deadline is not None and time.monotonic() > deadline:
                ray.kill(runner.actor)  # its node's trials with it: they were all cancelled
                raise Cancelled("cancelled; the remote trial did not report in time")

    def _cancel_remote(self) -> None:
        with self._lock:
            if self._cancel_sent:
                return
            self._cancel_sent = True
            live = [r for r in self._runners if r.alive]
        for runner in live:
            runner.actor.cancel.options(concurrency_group=CONTROL).remote()


def credentials_for(config: TrialConfig) -> dict[str, str]:
    """The driver's provider credentials for the trial's model and judge (see
    `credential_env`), for the node's runner: nodes need no keys of their own. They
    travel in Ray's RPC to the runner, never into the job directory."""
    from opsbench.providers.llm import credential_env

    api_base = config.provider_settings.api_base
    found: dict[str, str] = {}
    for model in (config.model, config.judge_model):
        if model is not None:
            found.update(credential_env(model, api_base))
    return found


def write_trial(config: TrialConfig, trial_dir: Path, done: NodeTrial) -> TrialResult:
    """Write a remote trial's directory here: its files, the driver's `config.json`,
    then `result.json` last and atomically (absent: the trial is recorded infra_error)."""
    paths = TrialPaths(trial_dir)
    result = member(done.archive, "result.json")
    if result is None:
        return record_failure(
            config, trial_dir, InfraError(f"node {done.node_id} returned no result.json")
        )
    trial_dir.mkdir(parents=True, exist_ok=True)
    unpack(done.archive, trial_dir, skip=frozenset({"result.json", "config.json", ".owner"}))
    write_json_atomic(paths.config, config.model_dump(mode="json"))
    write_json_atomic(paths.result, json.loads(result))
    return TrialResult.model_validate_json(result)


def record_failure(config: TrialConfig, trial_dir: Path, exc: BaseException) -> TrialResult:
    """A trial the cluster could not run (node died, worker crashed, images failed),
    recorded here as the template records a failed trial: `infra_error`, or `cancelled`."""
    from opsbench.models.spec import TaskSpec
    from opsbench.paths import TaskPaths
    from opsbench.runtime.environment import DockerRuntime
    from opsbench.trial.record import record
    from opsbench.trial.state import TrialState

    paths = TrialPaths(trial_dir)
    paths.make()
    write_json_atomic(paths.config, config.model_dump(mode="json"))
    task = TaskPaths(Path(config.task_dir))
    spec = TaskSpec.model_validate_json(task.spec_json.read_text())
    state = TrialState(config, paths, task, spec, threading.Event(), DockerRuntime())
    if not isinstance(exc, (Cancelled, InfraError)):
        exc = InfraError(f"the trial's Ray task failed: {type(exc).__name__}: {exc}")
    state.fail(exc, "remote")
    return record(state)
