"""Disk limits: one trial cannot fill the host.

A task's `resources.storage_mb` caps what its main container may write (its writable
layer). Where the engine can enforce a size limit on that layer (`--storage-opt size=`:
overlay2 on xfs mounted with project quotas, devicemapper, btrfs, zfs) it is passed at
create time and writes past it fail with ENOSPC inside the container, the agent's own
problem to handle. Elsewhere (overlay2 on ext4, the common case) the runtime measures:
a watcher asks the engine for the layer's size (`ps --size`) every few seconds and,
past the limit, kills the container and records why, so the trial fails as the agent's
(`agent_error`, "disk limit exceeded"). Measuring can overshoot by what the agent writes
between two looks (`POLL_SEC`).
"""

from __future__ import annotations

import logging
import threading
from functools import cache
from pathlib import Path
from typing import Any

from opsbench.failures import AgentError
from opsbench.runtime import engine

log = logging.getLogger(__name__)

POLL_SEC = 2.0
_NATIVE = {"devicemapper", "btrfs", "zfs", "windowsfilter"}


@cache
def engine_limits_size() -> bool:
    """Whether the engine accepts `--storage-opt size=` for containers."""
    from opsbench.runtime.docker import client

    try:
        info = client().info()
    except Exception:
        return False
    driver = info.get("Driver", "")
    if driver in _NATIVE:
        return True
    status = dict(info.get("DriverStatus") or [])
    if driver != "overlay2" or status.get("Backing Filesystem") != "xfs":
        return False
    return _mounted_with_project_quota(Path(info.get("DockerRootDir", "/var/lib/docker")))


def _mounted_with_project_quota(root: Path) -> bool:
    """The mount holding `root` has xfs project quotas on (a local engine only)."""
    best, options = "", ""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return False
    for line in mounts:
        parts = line.split()
        if len(parts) >= 4 and str(root).startswith(parts[1]) and len(parts[1]) > len(best):
            best, options = parts[1], parts[3]
    return any(opt in options.split(",") for opt in ("prjquota", "pquota", "pqnoenforce"))


def create_options(storage_mb: int | None) -> dict[str, Any]:
    """Keyword arguments for `containers.create`: the engine's own limit, when it has one."""
    if storage_mb is None or not engine_limits_size():
        return {}
    return {"storage_opt": {"size": f"{storage_mb}M"}}


class DiskWatch:
    """Polls a container's writable-layer size; kills it past the limit, saying why."""

    def __init__(self, container: Any, limit_mb: int, say: Any) -> None:
        self.container = container
        self.limit_bytes = limit_mb * 1024 * 1024
        self.limit_mb = limit_mb
        self.say = say
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="disk-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=POLL_SEC * 3)

    def _run(self) -> None:
        api = engine.api_client(timeout=60)
        try:
            while not self._stop.wait(POLL_SEC):
                try:
                    found = api.containers(all=True, size=True, filters={"id": self.container.id})
                    size = int(found[0].get("SizeRw") or 0) if found else 0
                except Exception:
                    continue  # gone (teardown), or the engine is away: not the agent's doing
                if size > self.limit_bytes:
                    self._exceeded(api, size)
                    return
        finally:
            api.close()

    def _exceeded(self, api: Any, size: int) -> None:
        message = (
            f"disk limit exceeded: the task container wrote {size // (1024 * 1024)} MB, "
            f"its limit is {self.limit_mb} MB"
        )
        engine.note_stop_reason(self.container.id, AgentError(message))
        self.say(message)
        try:
            api.kill(self.container.id)
        except Exception as exc:
            log.warning("disk watch: killing %s: %s", self.container.id[:12], exc)


def watch(container: Any, storage_mb: int | None, say: Any) -> DiskWatch | None:
    """Start measuring when there is a limit the engine does not enforce itself."""
    if storage_mb is None or engine_limits_size():
        return None
    return DiskWatch(container, storage_mb, say)


def stop(w: DiskWatch | None) -> None:
    if w is not None:
        w.stop()
