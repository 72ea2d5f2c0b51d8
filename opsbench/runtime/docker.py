"""The Docker engine: one client, the labels everything carries, and leftover cleanup.

Every container and network opsbench creates carries `opsbench.job`, `opsbench.trial`
and `opsbench.owner` (host and PID of the process that made it). Cleanup removes what
belongs to a process that no longer exists, so the start of one job never tears down
another job that is still running, yet nothing a killed run left behind survives.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any

from opsbench.errors import OpsbenchError

log = logging.getLogger(__name__)

LABEL_JOB = "opsbench.job"
LABEL_TRIAL = "opsbench.trial"
LABEL_OWNER = "opsbench.owner"
LABEL_ROLE = "opsbench.role"


class DockerUnavailable(OpsbenchError):
    def __init__(self, reason: str) -> None:
        super().__init__(
            f"cannot reach a Docker engine ({reason}). Start one, or run `./opsbenchw "
            "setup:preflight`, which installs Debian's docker.io and starts dockerd when "
            "run as root on Debian."
        )


@cache
def client() -> Any:
    """The process-wide Docker client (docker-py); raises DockerUnavailable."""
    import docker

    try:
        c = docker.from_env(timeout=120)
        c.ping()
    except Exception as exc:
        raise DockerUnavailable(str(exc)) from exc
    return c


KEPT_PREFIX = "kept@"
_kept_owner: ContextVar[str | None] = ContextVar("opsbench_kept_owner", default=None)


def owner_tag() -> str:
    return _kept_owner.get() or f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def kept() -> Iterator[None]:
    """What is created inside is owned by no process: a kept `opsbench shell` environment
    outlives its process, so leftover sweeps pass it by until the shell is rejoined."""
    token = _kept_owner.set(f"{KEPT_PREFIX}{socket.gethostname()}")
    try:
        yield
    finally:
        _kept_owner.reset(token)


def labels(job: str, trial: str, role: str) -> dict[str, str]:
    return {LABEL_JOB: job, LABEL_TRIAL: trial, LABEL_OWNER: owner_tag(), LABEL_ROLE: role}


def owner_alive(owner: str) -> bool:
    """Whether the process an `owner_tag()` names still runs (on another host: no)."""
    if owner.startswith(KEPT_PREFIX):
        return True  # kept on purpose (`opsbench shell --keep`)
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # made on another host (or unlabelled): treat as abandoned here
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class CleanupReport:
    containers: int = 0
    networks: int = 0


def remove_leftovers(job: str | None = None, everything: bool = False) -> CleanupReport:
    """Remove opsbench containers and networks whose creating process is gone.

    `job` limits the sweep to one job; `everything` ignores ownership (used by tests to
    assert a clean slate, never by a run that could share the engine).
    """
    api = client().api
    report = CleanupReport()
    for summary in list_labelled(job, "containers"):
        owner = (summary.get("Labels") or {}).get(LABEL_OWNER, "")
        if everything or not owner_alive(owner):
            _quietly(api.remove_container, container=summary["Id"], force=True, v=True)
            report.containers += 1
    for summary in list_labelled(job, "networks"):
        owner = (summary.get("Labels") or {}).get(LABEL_OWNER, "")
        if everything or not owner_alive(owner):
            _quietly(api.remove_network, net_id=summary["Id"])
            report.networks += 1
    if report.containers or report.networks:
        log.info(
            "removed %d leftover containers and %d networks", report.containers, report.networks
        )
    return report


def list_labelled(job: str | None, kind: str) -> list[dict[str, Any]]:
    """Summaries (id, labels) of opsbench containers or networks, in one engine call.

    Not docker-py's `containers.list()`: that inspects each container after listing, and
    one removed in between (a teardown finishing, a killed client's pending removal that
    the engine still completes) makes the whole listing fail.
    """
    api = client().api
    filters = {"label": [f"{LABEL_JOB}={job}"] if job else [LABEL_JOB]}
    if kind == "containers":
        found: list[dict[str, Any]] = api.containers(all=True, filters=filters)
    else:
        found = api.networks(filters=filters)
    return found


def _quietly(fn: Any, **kwargs: Any) -> None:
    import docker.errors

    try:
        fn(**kwargs)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        log.warning("cleanup: %s", exc)
