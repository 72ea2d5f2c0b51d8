"""Known ways the engine fails to start, recognised in its log, with their repair.

On Debian's docker.io 20.10, an engine restart that lands while networks are being removed
can leave the network store (`/var/lib/docker/network/files/local-kv.db`) inconsistent;
from then on `dockerd` panics at start in `reservePools` ("index out of range") until the
store is moved aside (the engine rebuilds it; networks are recreated by whoever needs
them, and opsbench's are per trial anyway).

`diagnose` reads the log `./opsbenchw` gives the engine it starts
(`/var/log/opsbench-dockerd.log`) and names the problem and the exact repair. `repair`
performs it: only for the engine the set-up itself started (its pid file says so and no
other engine is running), keeping the old store beside the new one.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ENGINE_LOG = Path("/var/log/opsbench-dockerd.log")
ENGINE_PIDFILE = Path("/var/run/opsbench-dockerd.pid")
NETWORK_STORE = Path("/var/lib/docker/network/files/local-kv.db")
_TAIL_BYTES = 512 * 1024
_START = re.compile(r'msg="Starting up"')
_PANIC = re.compile(r"panic: runtime error: index out of range")


@dataclass(frozen=True)
class Diagnosis:
    problem: str
    repair: str
    store: Path


def diagnose(log_path: Path | None = None, store: Path | None = None) -> Diagnosis | None:
    """The known start-up failure in the engine's latest start attempt, or None."""
    log_path = log_path or ENGINE_LOG
    store = store or NETWORK_STORE
    try:
        with log_path.open("rb") as fh:
            fh.seek(max(0, log_path.stat().st_size - _TAIL_BYTES))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return None
    starts = list(_START.finditer(text))
    latest = text[starts[-1].start() :] if starts else text
    if not (_PANIC.search(latest) and "reservePools" in latest):
        return None
    return Diagnosis(
        problem=(
            f"the Docker engine panics at start in reservePools (see {log_path}): its network "
            f"store {store} is corrupted (an engine restart interrupted a network removal)"
        ),
        repair=(
            f"stop dockerd, then `mv {store} {store}.corrupt-$(date -u +%Y%m%dT%H%M%SZ)` and "
            "start dockerd again (it rebuilds the store); `./opsbenchw setup:preflight "
            "--repair` does exactly this for the engine the set-up started"
        ),
        store=store,
    )


class RepairRefused(Exception):
    """The repair would touch an engine opsbench did not start."""


def started_by_setup(pidfile: Path = ENGINE_PIDFILE) -> bool:
    """Whether the engine is the one `./opsbenchw` started: its pid file exists and no
    engine other than that pid is running (a panicked engine has exited)."""
    try:
        ours = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return False
    running = _dockerd_pids()
    return not running or running == {ours}


def repair(
    diagnosis: Diagnosis,
    *,
    pidfile: Path = ENGINE_PIDFILE,
    restart: Callable[[], bool] | None = None,
) -> Path:
    """Move the store aside (kept, with a timestamp), restart the engine; return where
    the old store went. Raises RepairRefused unless the set-up started this engine."""
    if not started_by_setup(pidfile):
        raise RepairRefused(
            "the Docker engine was not started by ./opsbenchw (no pid file, or another "
            f"dockerd is running): repair it by hand: {diagnosis.repair}"
        )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = diagnosis.store.with_name(f"{diagnosis.store.name}.corrupt-{stamp}")
    if diagnosis.store.exists():
        shutil.move(diagnosis.store, kept)
        log.warning("moved the corrupted network store to %s", kept)
    if not (restart or _restart_engine)():
        raise RepairRefused(f"the engine did not come back; see {ENGINE_LOG}")
    return kept


def _dockerd_pids() -> set[int]:
    pids = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() == "dockerd":
                pids.add(int(proc.name))
        except OSError:
            continue
    return pids


def _restart_engine(timeout: float = 60.0) -> bool:
    """Start dockerd the way `./opsbenchw` does (same log, new pid file) and wait for it."""
    for pid in _dockerd_pids():  # our own engine, half-alive after its panic
        os.kill(pid, 15)
    with ENGINE_LOG.open("ab") as out:
        proc = subprocess.Popen(
            ["dockerd"], stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True
        )
    ENGINE_PIDFILE.write_text(f"{proc.pid}\n")
    from opsbench.runtime.engine import reachable

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if reachable():
            return True
        time.sleep(0.5)
    return False


def engine_client(repair_it: bool, say: Callable[[str], None]) -> Any:
    """The Docker client; when the engine is down for a known reason, say the repair (or,
    with `repair_it`, perform it and connect again). Unknown failures raise as before."""
    from opsbench.errors import OpsbenchError
    from opsbench.runtime.docker import DockerUnavailable, client

    try:
        return client()
    except DockerUnavailable:
        found = diagnose()
        if found is None:
            raise
        if not repair_it:
            raise OpsbenchError(f"{found.problem}\nrepair: {found.repair}") from None
    try:
        kept = repair(found)
    except RepairRefused as exc:
        raise OpsbenchError(str(exc)) from None
    say(f"repaired the engine: the corrupted network store is kept at {kept}")
    client.cache_clear()
    return client()
