"""One trial's Docker environment: a private network, its sidecars, the main container.

`DockerRuntime` is the Docker implementation of `opsbench.runtime.base.Runtime`;
`DockerEnvironment` is the `TrialEnvironment` it provisions.

Sidecars start first and are waited on by running their healthcheck command (no Docker
healthcheck: it would keep probing all trial long), with a deadline.
The main container gets the task's resource limits (cpus, memory without swap, pids), no
Docker socket, no host mounts, and only the trial's own network: it reaches its sidecars
by name and nothing of any other trial. An `isolated` task's network is `internal` (no
route out). Teardown force-removes everything and is safe to call more than once.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsbench.failures import InfraError
from opsbench.runtime import disk, engine, isolation
from opsbench.runtime.base import (
    AgentLayer,
    ContainerState,
    EnvironmentPlan,
    Runtime,
    SidecarPlan,
    TrialEnvironment,
    TrialLog,
)
from opsbench.runtime.docker import client, labels
from opsbench.runtime.images import ensure_agent_image, ensure_task_image
from opsbench.runtime.sandbox_docker import DockerSandbox
from opsbench.sandbox import Endpoint

if TYPE_CHECKING:
    from opsbench.runtime.verifier import DockerVerifier

log = logging.getLogger(__name__)

HEALTH_FIRST_PAUSE = 0.05
HEALTH_MAX_PAUSE = 0.5
"""Seconds between health probes of a starting sidecar: short at first (Prometheus is
ready in about a second), then backing off."""
HEALTH_GRACE_SEC = 15.0
"""A running sidecar whose probe has failed this long is unhealthy (an `infra_error`
now, not at the provision deadline): far longer than a loaded machine needs."""


class DockerRuntime(Runtime):
    """Task images built by the local engine; one network and its containers per trial."""

    name = "docker"

    def ensure_image(self, environment: Path, task_id: str, timeout: float) -> str:
        return ensure_task_image(environment, task_id, timeout)

    def ensure_agent_image(self, image: str, layer: AgentLayer, timeout: float) -> str:
        return ensure_agent_image(image, layer.agent, layer.version, layer.dockerfile, timeout)

    def provision(
        self, plan: EnvironmentPlan, timeout: float, trial_log: TrialLog
    ) -> DockerEnvironment:
        env = DockerEnvironment(plan, trial_log)
        try:
            env.start(timeout)
        except BaseException:
            env.teardown()  # whatever was created before the failure
            trial_log("teardown after the failed provision complete")
            raise
        return env


class DockerEnvironment(TrialEnvironment):
    def __init__(self, plan: EnvironmentPlan, trial_log: TrialLog) -> None:
        self.plan = plan
        self.say = trial_log
        identity = f"{plan.instance}\0{plan.job}/{plan.trial}"
        suffix = hashlib.sha256(identity.encode()).hexdigest()[:10]
        self.prefix = f"opsbench-{suffix}"
        self.network: Any = None
        self.containers: list[Any] = []
        self.main: Any = None
        self.sandbox: DockerSandbox | None = None
        self.endpoints: dict[str, Endpoint] = {}
        self._agent_handles: list[DockerSandbox] = []
        self._verifier: DockerVerifier | None = None
        self._verifier_started: Future[None] | None = None
        self.isolation: isolation.Isolation | None = None
        self.disk_watch: disk.DiskWatch | None = None
        self._joined: list[str] = []
        """Outside containers joined to the network (the model gateway): disconnected,
        never removed, at teardown."""

    # ----------------------------------------------------------------- start

    def start(self, timeout: float) -> None:
        """Create the network and containers, start them, wait for healthy sidecars."""
        deadline = time.monotonic() + timeout
        spec = self.plan.spec
        c = client()
        self.network = c.networks.create(
            f"{self.prefix}-net",
            driver="bridge",
            internal=spec.environment.network == "isolated",
            labels=labels(self.plan.job, self.plan.trial, "network"),
        )
        if spec.environment.network == "isolated":  # host firewall: runtime/isolation.py
            self.isolation = isolation.enforce(self.network, f"{self.plan.job}/{self.plan.trial}")
            self.say(self.isolation.describe())
        endpoints = {}
        for sidecar in self.plan.sidecars:
            self.containers.append(self._create_sidecar(sidecar))
            endpoints[sidecar.name] = Endpoint(sidecar.name, sidecar.name, sidecar.port)
        self._create_main()
        # Starting a container costs ~0.25 s of engine time; start them all at once.
        _parallel([c.start for c in self.containers])
        self.say("containers started: " + ", ".join(c.name for c in self.containers))
        self._start_verifier()
        for sidecar, container in zip(self.plan.sidecars, self.containers, strict=False):
            if sidecar.healthcheck:
                self._wait_healthy(sidecar, container, deadline)
        self.endpoints = endpoints
        self.sandbox = DockerSandbox(self.main, endpoints, "root", spec.environment.workdir)
        self.disk_watch = disk.watch(self.main, spec.environment.resources.storage_mb, self.say)

    @property
    def verifier(self) -> DockerSandbox:
        if self.sandbox is None:
            raise InfraError("the trial environment was not provisioned")
        return self.sandbox

    def _start_verifier(self) -> None:
        """Start opsbench's verifier container in the background, beside the sidecars'
        health waits and the agent, so grading does not wait for a container start."""
        from opsbench.runtime.verifier import DockerVerifier

        sidecars = {p.name: c for p, c in zip(self.plan.sidecars, self.containers, strict=False)}
        self._verifier = DockerVerifier(
            self.main, self.network, sidecars, self.plan.job, self.plan.trial
        )
        self._verifier_started = ThreadPoolExecutor(max_workers=1).submit(self._verifier.start)

    def open_verifier(self) -> DockerVerifier:
        """The trial's verifier container (started at provision), ready to grade."""
        if self._verifier is None or self._verifier_started is None:
            raise InfraError("the trial environment was not provisioned")
        try:
            self._verifier_started.result(timeout=120)
        except InfraError:
            raise
        except Exception as exc:
            raise InfraError(f"the verifier container could not start: {exc}") from exc
        self._verifier.refresh_hosts()
        self.say("verifier ready")
        return self._verifier

    def agent_sandbox(self) -> DockerSandbox:
        """A separate handle for the agent (as the task's agent user), frozen on timeout
        or cancel while the verifier's handle keeps working."""
        env = self.plan.spec.environment
        handle = DockerSandbox(self.main, self.endpoints, env.agent_user, env.workdir)
        self._agent_handles.append(handle)
        return handle

    def _create_sidecar(self, sidecar: SidecarPlan) -> Any:
        import docker.errors

        c = client()
        # The runtime probes health itself until the sidecar is up (`_wait_healthy`); a
        # Docker healthcheck would go on exec'ing its probe for the whole trial, which on
        # a 2-core machine running four sidecar trials costs most of a core.
        healthcheck = {"test": ["NONE"]}
        try:
            container = c.containers.create(
                sidecar.image,
                command=sidecar.command,
                name=f"{self.prefix}-{sidecar.name}",
                hostname=sidecar.name,
                environment=sidecar.environment,
                labels=labels(self.plan.job, self.plan.trial, f"sidecar:{sidecar.name}"),
                healthcheck=healthcheck,
                network=self.network.name,
                networking_config={
                    self.network.name: c.api.create_endpoint_config(aliases=[sidecar.name])
                },
                detach=True,
            )
        except docker.errors.ImageNotFound as exc:
            raise InfraError(
                f"sidecar {sidecar.name}: image {sidecar.image} not found "
                "(run `opsbench preflight`, or pull it)"
            ) from exc
        for archive in sidecar.archives:
            container.put_archive(archive.path, archive.data)
        return container

    def _create_main(self) -> None:
        env = self.plan.spec.environment
        cpus = self.plan.cpus or env.resources.cpus
        memory = self.plan.memory_mb or env.resources.memory_mb
        self.main = client().containers.create(
            self.plan.image,
            entrypoint=["sleep", "infinity"],
            command=[],
            name=f"{self.prefix}-main",
            hostname="main",
            labels=labels(self.plan.job, self.plan.trial, "main"),
            network=self.network.name,
            nano_cpus=int(cpus * 1e9),
            mem_limit=f"{memory}m",
            memswap_limit=f"{memory}m",
            pids_limit=env.resources.pids,
            cap_drop=["NET_RAW"] if env.network == "isolated" else None,
            init=True,
            detach=True,
            **disk.create_options(env.resources.storage_mb),  # the engine's own size limit
        )
        for archive in self.plan.main_archives:
            self.main.put_archive(archive.path, archive.data)
        self.containers.append(self.main)
        self.say(
            f"main container: {self.plan.image}, cpus={cpus}, memory={memory}MB, "
            f"pids={env.resources.pids}"
        )

    def _wait_healthy(self, sidecar: SidecarPlan, container: Any, deadline: float) -> None:
        """Healthy as soon as the sidecar's healthcheck command passes when we run it:
        probed at once, then at a growing interval (an exec costs engine time)."""
        name = sidecar.name
        probe = _probe_command(sidecar.healthcheck or [])
        if probe is None:
            return
        pause = HEALTH_FIRST_PAUSE
        unhealthy_at = time.monotonic() + HEALTH_GRACE_SEC
        while True:
            ok, output = _probe(container, probe)
            if ok:
                self.say(f"sidecar {name} healthy")
                return
            container.reload()
            state = container.attrs.get("State", {})
            if not state.get("Running", False):
                raise InfraError(
                    f"sidecar {name} exited (code {state.get('ExitCode')}): {_tail(container)}"
                )
            now = time.monotonic()
            if now > deadline or now > unhealthy_at:
                last = output.strip()[-500:] or "no probe output"
                why = "not healthy before the deadline" if now > deadline else "unhealthy"
                raise InfraError(f"sidecar {name} {why}: {last}")
            time.sleep(pause)
            pause = min(pause * 1.5, HEALTH_MAX_PAUSE)

    # ----------------------------------------------------------------- state

    def main_state(self) -> ContainerState:
        """Whether the main container still runs, and whether it was OOM-killed."""
        import docker.errors

        if self.main is None:
            return ContainerState(running=False, error="not created")
        try:
            self.main.reload()
        except docker.errors.NotFound:
            return ContainerState(running=False, error="no longer exists")
        state: dict[str, Any] = self.main.attrs.get("State", {})
        return ContainerState(
            running=bool(state.get("Running", False)),
            oom_killed=bool(state.get("OOMKilled", False)),
            exit_code=state.get("ExitCode"),
            error=str(state.get("Error") or ""),
        )

    def connect(self, container: str, alias: str) -> None:
        if self.network is None:
            raise InfraError("the trial environment was not provisioned")
        try:
            self.network.connect(container, aliases=[alias])
        except Exception as exc:
            raise InfraError(f"joining {alias} to the trial network: {exc}") from exc
        self._joined.append(container)
        self.say(f"{alias} joined the trial network")

    def freeze(self) -> None:
        """Stop the agent from acting (timeout, cancel): no more execs through its handle."""
        for handle in self._agent_handles:
            handle.close()

    # ----------------------------------------------------------------- teardown

    def teardown(self) -> None:
        """Remove every container and the network. Idempotent; never raises."""
        import docker.errors

        self.freeze()
        disk.stop(self.disk_watch)
        engine.settle_before_teardown(self)  # an engine outage must not leave containers
        if self.sandbox is not None:
            self.sandbox.close()
        if self._verifier is not None and self._verifier_started is not None:
            wait([self._verifier_started], timeout=120)  # never leave it starting behind us
            if self._verifier.container is not None:
                self.containers.append(self._verifier.container)
            self._verifier.close()
            self._verifier = None
        _parallel([functools.partial(_remove, c) for c in self.containers])
        self.containers.clear()
        engine.sweep_trial(self.plan.job, self.plan.trial)  # made during an outage, unknown
        isolation.release(self.isolation)
        if self.network is not None:
            for joined in self._joined:  # the network cannot go while they are on it
                try:
                    self.network.disconnect(joined, force=True)
                except Exception as exc:
                    log.warning("teardown: disconnecting %s: %s", joined[:12], exc)
            self._joined.clear()
            try:
                self.network.remove()
            except docker.errors.NotFound:
                pass
            except Exception as exc:
                log.warning("teardown: removing network: %s", exc)
            self.network = None


def _tail(container: Any) -> str:
    try:
        text: bytes = container.logs(tail=20)
    except Exception:
        return ""
    return text.decode("utf-8", "replace").strip()[-500:]


def _remove(container: Any) -> None:
    import docker.errors

    try:
        container.remove(force=True, v=True)
    except docker.errors.NotFound:
        pass
    except Exception as exc:
        log.warning("teardown: removing %s: %s", getattr(container, "name", "?"), exc)


def _parallel(calls: list[Callable[[], object]]) -> None:
    """Run engine calls concurrently; re-raise the first failure after all finished."""
    if len(calls) <= 1:
        for call in calls:
            call()
        return
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        for future in [pool.submit(call) for call in calls]:
            future.result()


def _probe_command(test: list[str]) -> list[str] | None:
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", test[1]]
    return test[1:] if test[0] == "CMD" else test


def _probe(container: Any, command: list[str]) -> tuple[bool, str]:
    """Run the healthcheck command once: (passed, its output)."""
    import docker.errors

    try:
        result = container.exec_run(command, demux=False)
    except docker.errors.APIError as exc:
        return False, f"not running yet ({exc.explanation or exc})"
    output = (result.output or b"").decode("utf-8", "replace")
    return result.exit_code == 0, output
