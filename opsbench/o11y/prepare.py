"""Make the sidecar's data once per (seed, scenario clock) and hand every trial a copy.

The expensive part, turning 25 hours of samples into TSDB blocks, happens once per job:
`prepare_o11y` renders the telemetry, runs `promtool tsdb create-blocks-from openmetrics`
in a throwaway container of the sidecar image (the host has no promtool; files travel by
put/get_archive, so a remote engine works too), and caches ready-to-extract tar archives
under `<cache_dir>/o11y/<key>/`. Every later call, from any thread or process, reads them.
The runtime extracts them into each trial's fresh containers, so each trial writes to its
own copy. The key includes a digest of the generator's source: changing the story
invalidates old caches by itself.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsbench.builtin_images import BUILTIN_SIDECARS
from opsbench.o11y.materialize import promtool_argv, render
from opsbench.o11y.timeline import clock_seconds

log = logging.getLogger(__name__)

SIDECAR_IMAGE = BUILTIN_SIDECARS["o11y"].image
PROMETHEUS_PORT = BUILTIN_SIDECARS["o11y"].port
LOGS_PORT = 9080
"""The sidecar's log server: GET /logs/<service>.log (see environment/sidecar/logserver.py)."""
SIDECAR_DATA_DIR = "/var/lib/o11y"
"""Holds tsdb/ (Prometheus' --storage.tsdb.path), logs/ and scenario_time in the sidecar."""
MAIN_LOG_DIR = "/var/log/apps"
"""Where the task's main container finds `<service>.log`."""
BACKFILL_TIMEOUT_S = 300
_GENERATOR = (
    "scenario",
    "timeline",
    "model",
    "traffic",
    "infra",
    "datastores",
    "telemetry",
    "render",
    "materialize",
)


@dataclass(frozen=True)
class ContainerArchive:
    path: str
    """Absolute directory in the container to extract into (it exists in the image)."""
    data: bytes
    """An uncompressed tar archive, as docker's put_archive wants."""


@dataclass(frozen=True)
class O11yData:
    sidecar: list[ContainerArchive]
    """Put into the sidecar container after create, before start (TSDB blocks, logs)."""
    main: list[ContainerArchive]
    """Put into the task's main container (the /var/log/apps/<service>.log files)."""


def cache_key(scenario_time: datetime, seed: int) -> str:
    here = Path(__file__).parent
    h = hashlib.sha256()
    for name in _GENERATOR:
        h.update((here / f"{name}.py").read_bytes())
    stamp = datetime.fromtimestamp(clock_seconds(scenario_time), UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-seed{seed}-{h.hexdigest()[:12]}"


def prepare_o11y(cache_dir: Path, scenario_time: datetime, seed: int = 0) -> O11yData:
    """Build (once, cached, safe under concurrent callers via a file lock) and return the data."""
    key = cache_key(scenario_time, seed)
    root = cache_dir / "o11y"
    target = root / key
    if not target.is_dir():
        root.mkdir(parents=True, exist_ok=True)
        with _file_lock(root / f"{key}.lock"):
            if not target.is_dir():
                _build(target, scenario_time, seed, _job_name(cache_dir))
    return O11yData(
        sidecar=[ContainerArchive(SIDECAR_DATA_DIR, (target / "sidecar.tar").read_bytes())],
        main=[ContainerArchive(str(Path(MAIN_LOG_DIR).parent), (target / "main.tar").read_bytes())],
    )


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """flock on a fresh open file: excludes other processes and other threads alike."""
    import fcntl

    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _job_name(cache_dir: Path) -> str:
    """`jobs/<job>/.cache` → `<job>`, for the labels of the backfill container."""
    resolved = cache_dir.resolve()
    return resolved.parent.name if resolved.name == ".cache" else resolved.name


def _build(target: Path, scenario_time: datetime, seed: int, job: str) -> None:
    rendered = render(seed, scenario_time)
    metrics, logs = rendered.openmetrics, rendered.logs
    blocks = backfill(metrics, job)
    clock = str(rendered.clock).encode()
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    tmp.chmod(0o755)
    try:
        mtime = rendered.clock
        sidecar = _tar(
            mtime,
            {"tsdb": None, **blocks, "logs": None}
            | {f"logs/{name}": data for name, data in logs.items()}
            | {"scenario_time": clock},
        )
        main = _tar(mtime, {"apps": None} | {f"apps/{name}": data for name, data in logs.items()})
        (tmp / "sidecar.tar").write_bytes(sidecar)
        (tmp / "main.tar").write_bytes(main)
        manifest = {
            "seed": seed,
            "scenario_time": rendered.clock,
            "series": rendered.series,
            "openmetrics_bytes": len(metrics),
            "blocks": sorted({p.split("/")[1] for p in blocks if p.count("/") >= 1}),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("o11y data for %s cached in %s", scenario_time.isoformat(), target)


def _tar(mtime: int, members: dict[str, bytes | None]) -> bytes:
    """A deterministic tar: root-owned, fixed mtime; None makes a directory."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = mtime, 0, 0, "root", "root"
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def backfill(openmetrics: bytes, job: str) -> dict[str, bytes | None]:
    """TSDB blocks for `openmetrics`, made by promtool in a throwaway sidecar container.

    Returns archive members `tsdb/<block ulid>/...` (None for directories).
    """
    import docker.errors

    from opsbench.failures import InfraError
    from opsbench.runtime.docker import client, labels

    c = client()
    try:
        container: Any = c.containers.create(
            SIDECAR_IMAGE,
            command=promtool_argv("/tmp/o11y/metrics.om", "/tmp/o11y/blocks"),
            labels=labels(job, "o11y-backfill", "o11y-backfill"),
            network_disabled=True,
        )
    except docker.errors.ImageNotFound as exc:
        raise InfraError(f"{SIDECAR_IMAGE} is missing: run `opsbench preflight`") from exc
    try:
        container.put_archive("/tmp", _tar(0, {"o11y": None, "o11y/metrics.om": openmetrics}))
        container.start()
        status = container.wait(timeout=BACKFILL_TIMEOUT_S)
        if status.get("StatusCode") != 0:
            output = container.logs().decode(errors="replace")[-4000:]
            raise InfraError(f"promtool backfill failed ({status}):\n{output}")
        stream, _ = container.get_archive("/tmp/o11y/blocks")
        return _blocks(b"".join(stream))
    except docker.errors.APIError as exc:
        raise InfraError(f"promtool backfill: {exc}") from exc
    finally:
        try:
            container.remove(force=True)
        except docker.errors.APIError as exc:
            log.warning("removing the backfill container: %s", exc)


def _blocks(archive: bytes) -> dict[str, bytes | None]:
    """Re-root docker's `blocks/...` archive at `tsdb/...`, in a stable order."""
    from opsbench.failures import InfraError

    out: dict[str, bytes | None] = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        members = sorted(tar.getmembers(), key=lambda m: m.name)
        for m in members:
            _, _, rest = m.name.partition("/")
            if not rest:
                continue
            name = f"tsdb/{rest}"
            if m.isdir():
                out[name] = None
            elif m.isfile():
                fh = tar.extractfile(m)
                out[name] = fh.read() if fh else b""
    if not any(name.endswith("/meta.json") for name in out):
        raise InfraError("promtool backfill produced no TSDB block")
    return out
