"""The engine as a source of faults: tell its failures apart from the agent's.

An exec that fails because the engine is unreachable (connection refused or aborted, a
5xx answer) says nothing about the agent or the check it was running: it is
`EngineUnavailable`, an infrastructure failure, wherever it happens. The process keeps one
record of when it last saw the engine fail, so a trial that lived through an outage is
never graded on what the outage did to it, and the executor stops launching until the
engine answers again.

When the main container turns out to have stopped, `stop_failure` asks the engine why
before blaming anyone: an OOM kill is the agent's doing; a container that stopped because
the engine restarted (the engine process started after the container did), a runtime
error, a stop that took the trial's sidecars along, or an outage seen during the trial is
infrastructure.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn

from opsbench.failures import AgentError, InfraError, TrialFailure

log = logging.getLogger(__name__)

PING_TIMEOUT_SEC = 3.0


class EngineUnavailable(InfraError):
    """The Docker engine could not be reached, or failed, while serving a request."""

    infrastructure = True
    """Read by `grading.checks.run_check` (stdlib only, so it cannot import this class):
    a check whose exec failed this way re-raises instead of failing."""


class _Watch:
    """When this process last saw the engine fail (wall clock), shared by all trials."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.last_fault: datetime | None = None
        self.suspect = False

    def note(self) -> None:
        with self._lock:
            self.last_fault = datetime.now(UTC)
            self.suspect = True

    def cleared(self) -> None:
        with self._lock:
            self.suspect = False


watch = _Watch()


def engine_fault(exc: BaseException, doing: str) -> EngineUnavailable | None:
    """`exc` as an EngineUnavailable when the engine (not the request) is at fault."""
    import docker.errors
    import requests.exceptions

    reason = ""
    if isinstance(exc, docker.errors.APIError):
        status = exc.status_code or 0
        if status >= 500:
            reason = f"the engine answered {status}: {exc.explanation or exc}"
    elif isinstance(exc, _unreachable_types(requests.exceptions)):
        reason = f"the engine is unreachable ({type(exc).__name__}: {exc})"
    if not reason:
        return None
    watch.note()
    fault = EngineUnavailable(f"{doing}: {reason}"[:1000])
    fault.__cause__ = exc
    return fault


def _unreachable_types(rex: Any) -> tuple[type[BaseException], ...]:
    return (rex.ConnectionError, rex.ChunkedEncodingError, ConnectionError)


def reraise(exc: BaseException, doing: str) -> NoReturn:
    """Re-raise `exc` from an `except` block, as EngineUnavailable when the engine is at
    fault (so grading does not record it as a failed check)."""
    fault = engine_fault(exc, doing)
    if fault is None:
        raise exc
    raise fault from exc


def api_client(timeout: float | None) -> Any:
    """A low-level client to the engine the environment names (DOCKER_HOST), like `client()`."""
    import docker
    import docker.utils

    kwargs = docker.utils.kwargs_from_env()
    return docker.APIClient(version="auto", timeout=timeout, **kwargs)  # type: ignore[arg-type]


def reachable(timeout: float = PING_TIMEOUT_SEC) -> bool:
    """Whether the engine answers a ping now; a success clears the suspicion."""
    try:
        api = api_client(timeout)
        try:
            ok = bool(api.ping())
            if ok and _deferred:
                _remove_deferred(api)
        finally:
            api.close()
    except Exception:
        watch.note()
        return False
    if ok:
        watch.cleared()
    return ok


def wait_until_reachable(limit_sec: float, say: Callable[[str], None] | None = None) -> bool:
    """Wait (with backoff, up to `limit_sec`) for the engine to answer; True if it does."""
    deadline = time.monotonic() + limit_sec
    delay = 1.0
    first = True
    while not reachable():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if say is not None and first:
            say(f"the Docker engine is unreachable: waiting up to {limit_sec:g}s for it")
        first = False
        time.sleep(min(delay, left))
        delay = min(delay * 2, 30.0)
    return True


def outage_since(started: datetime) -> bool:
    """Whether this process saw the engine fail at or after `started`."""
    last = watch.last_fault
    return last is not None and last >= started


# --------------------------------------------------------------------------- why it stopped


def stop_failure(
    state: dict[str, Any],
    others: list[dict[str, Any]],
    trial_started: datetime,
    engine_started: datetime | None = None,
) -> TrialFailure:
    """The failure for a main container found stopped, from what the engine says.

    `state` is the main container's `State`; `others` the `State` of the trial's other
    containers (sidecars); `engine_started` when the engine process started, if known
    (`engine_start_time()`): an engine that started after the container did restarted
    under it.
    """
    exit_code = state.get("ExitCode")
    if state.get("OOMKilled"):
        return AgentError("the task container was OOM-killed during the agent phase")
    container_started = _parse_time(state.get("StartedAt"))
    if engine_started and container_started and engine_started > container_started:
        return EngineUnavailable(
            f"the task container stopped (exit code {exit_code}) because the Docker engine "
            f"restarted at {engine_started:%H:%M:%S} UTC"
        )
    if state.get("Error"):
        return EngineUnavailable(f"the engine stopped the task container: {state['Error']}")
    if outage_since(trial_started):
        return EngineUnavailable(
            f"the task container stopped (exit code {exit_code}) while the engine was failing"
        )
    if others and all(not o.get("Running", False) for o in others):
        return EngineUnavailable(
            f"the task container stopped (exit code {exit_code}) together with its sidecars: "
            "the engine stopped them"
        )
    return AgentError(f"the task container stopped during the agent phase (exit code {exit_code})")


def _parse_time(text: Any) -> datetime | None:
    """Docker's RFC 3339 times (nanoseconds, `Z`); None for the zero time or garbage."""
    if not isinstance(text, str) or text.startswith("0001-"):
        return None
    head, _, frac = text.rstrip("Z").partition(".")
    try:
        when = datetime.fromisoformat(head).replace(tzinfo=UTC)
    except ValueError:
        return None
    digits = "".join(ch for ch in frac if ch.isdigit())[:6]
    return when.replace(microsecond=int(digits.ljust(6, "0"))) if digits else when


def engine_start_time() -> datetime | None:
    """When the local engine's process started, from the peer of its unix socket.

    Only for an engine on this machine (unix socket, same PID namespace); None otherwise.
    """
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(PING_TIMEOUT_SEC)
            sock.connect(host.removeprefix("unix://"))
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid = struct.unpack("3i", creds)[0]
        return _process_start(pid) if pid > 0 else None
    except (OSError, ValueError, IndexError):
        return None


def _process_start(pid: int) -> datetime:
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rpartition(")")[2].split()
    ticks = int(fields[19])  # field 22 of stat, counted after the `(comm)` field
    with open("/proc/stat", encoding="ascii") as fh:
        btime = next(int(line.split()[1]) for line in fh if line.startswith("btime "))
    return datetime.fromtimestamp(btime + ticks / os.sysconf("SC_CLK_TCK"), UTC)


_stop_reasons: dict[str, TrialFailure] = {}


def note_stop_reason(container_id: str, failure: TrialFailure) -> None:
    """Record why opsbench itself stopped a container (a disk limit, say): that, not a
    guess from its state, is the trial's failure."""
    _stop_reasons[container_id] = failure


def stop_reason(container_id: str) -> TrialFailure | None:
    return _stop_reasons.get(container_id)


def explain_stop(env: Any, status: Any, trial_started: datetime) -> TrialFailure:
    """`stop_failure` for a trial environment's stopped main container.

    `status` is the runtime's `ContainerState`; a Docker environment also gives the
    engine's full `State` (start time) and its sidecars' states. Any other runtime is
    judged on the state alone.
    """
    main = getattr(env, "main", None)
    if not hasattr(main, "attrs"):
        main = None  # not a Docker container (another runtime, a fake)
    noted = stop_reason(main.id) if main is not None else None
    if noted is not None:
        return noted
    state: dict[str, Any] = {
        "Running": status.running,
        "OOMKilled": status.oom_killed,
        "ExitCode": status.exit_code,
        "Error": status.error,
    }
    if main is not None and status.error != "no longer exists":
        state = {**(main.attrs.get("State") or {}), **state}
    others = []
    for container in getattr(env, "containers", []) if main is not None else []:
        if container is main:
            continue
        try:
            container.reload()
            others.append(container.attrs.get("State", {}))
        except Exception as exc:  # a sidecar already gone stopped too
            fault = engine_fault(exc, "inspecting a sidecar")
            if fault is not None:
                return fault
            others.append({"Running": False})
    started = engine_start_time() if main is not None else None
    return stop_failure(state, others, trial_started, started)


TEARDOWN_WAIT_DEFAULT_SEC = 60.0


def teardown_wait_sec() -> float:
    try:
        return float(os.environ.get("OPSBENCH_TEARDOWN_WAIT_SEC", TEARDOWN_WAIT_DEFAULT_SEC))
    except ValueError:
        return TEARDOWN_WAIT_DEFAULT_SEC


def settle_before_teardown(env: Any) -> None:
    """If the engine does not answer, give it a while to come back before a trial's
    containers are removed; if it stays away, remember them, so they are removed as soon
    as this process sees the engine again (or swept by the next run if it exits first).
    One ping when the engine answers: a teardown costs far more."""
    if reachable():
        return
    limit = teardown_wait_sec()
    log.warning("the Docker engine is unreachable: waiting up to %gs to tear down", limit)
    if wait_until_reachable(limit):
        return
    log.warning("the Docker engine is still unreachable: removing this trial's containers later")
    with _deferred_lock:
        _deferred.extend(("container", c.id) for c in env.containers)
        if env.network is not None:
            _deferred.append(("network", env.network.id))


_deferred: list[tuple[str, str]] = []
_deferred_lock = threading.Lock()


def _remove_deferred(api: Any) -> None:
    """Remove what teardowns could not while the engine was away (containers first)."""
    with _deferred_lock:
        pending = sorted(_deferred, key=lambda item: item[0] != "container")
        _deferred.clear()
    for kind, ident in pending:
        try:
            if kind == "container":
                api.remove_container(ident, force=True, v=True)
            else:
                api.remove_network(ident)
        except Exception as exc:
            if getattr(exc, "status_code", None) != 404:
                log.warning("removing %s %s later: %s", kind, ident[:12], exc)


def sweep_own(job: str) -> int:
    """Remove what this process still has of `job` once none of its trials runs: a
    container or network whose create the engine performed while the answer was lost in
    an outage is known to no teardown. Only this process's own (by owner label)."""
    from opsbench.runtime.docker import LABEL_OWNER, list_labelled, owner_tag

    if not reachable():
        return 0  # swept by the next run's leftover cleanup instead
    api = api_client(timeout=60)
    removed = 0
    try:
        for kind in ("containers", "networks"):
            for item in list_labelled(job, kind):
                if (item.get("Labels") or {}).get(LABEL_OWNER) != owner_tag():
                    continue
                try:
                    if kind == "containers":
                        api.remove_container(item["Id"], force=True, v=True)
                    else:
                        api.remove_network(item["Id"])
                    removed += 1
                except Exception as exc:
                    log.warning("removing leftover %s %s: %s", kind, item["Id"][:12], exc)
    finally:
        api.close()
    return removed


def sweep_trial(job: str, trial: str) -> None:
    """After a teardown, once this process has seen the engine fail: remove what the
    engine made for this trial while its answer was lost (a container created during an
    outage that no handle knows). One listing per kind, only this process's own."""
    from opsbench.runtime.docker import LABEL_OWNER, LABEL_TRIAL, list_labelled, owner_tag

    if watch.last_fault is None:
        return
    try:
        api = api_client(timeout=60)
    except Exception:
        return
    try:
        for kind in ("containers", "networks"):
            for item in list_labelled(job, kind):
                item_labels = item.get("Labels") or {}
                if (
                    item_labels.get(LABEL_TRIAL) != trial
                    or item_labels.get(LABEL_OWNER) != owner_tag()
                ):
                    continue
                with contextlib.suppress(Exception):
                    if kind == "containers":
                        api.remove_container(item["Id"], force=True, v=True)
                    else:
                        api.remove_network(item["Id"])
    except Exception as exc:
        log.warning("sweeping what an outage left of %s: %s", trial, exc)
    finally:
        api.close()
