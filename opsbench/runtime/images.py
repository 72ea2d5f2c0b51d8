"""Images: the upstream base (pulled or built with debootstrap), shared and task images.

Builds are cached by a digest of their build context, stored as an image label: an
unchanged context never rebuilds, across runs and processes. Concurrent trials of the
same task wait on one build instead of racing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsbench.builtin_images import (
    BUILTIN_SIDECARS,
    TASK_BASE,
    UPSTREAM_BASE,
    VERIFIER_CONTEXT,
    VERIFIER_IMAGE,
)
from opsbench.errors import OpsbenchError
from opsbench.failures import InfraError
from opsbench.runtime.docker import client

log = logging.getLogger(__name__)

LABEL_DIGEST = "opsbench.context-digest"
DEFAULT_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class ImageBuildError(InfraError):
    """An image failed to build; `log` holds the build output for trial.log."""

    def __init__(self, tag: str, reason: str, log_text: str) -> None:
        super().__init__(f"building {tag} failed: {reason}")
        self.log_text = log_text


def context_digest(context: Path, extra: bytes = b"") -> str:
    h = hashlib.sha256(extra)
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        h.update(path.relative_to(context).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
        h.update(str(path.stat().st_mode & 0o111).encode())
    return h.hexdigest()


def _image_digest_label(tag: str) -> str | None:
    import docker.errors

    try:
        image = client().images.get(tag)
    except docker.errors.ImageNotFound:
        return None
    labels: dict[str, str] = image.labels or {}
    return labels.get(LABEL_DIGEST)


@contextmanager
def _build_lock(key: str) -> Iterator[None]:
    """One build per context digest, across threads and processes."""
    import fcntl

    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    lock_dir = Path(tempfile.gettempdir()) / "opsbench-build-locks"
    lock_dir.mkdir(exist_ok=True)
    with lock, open(lock_dir / f"{key[:32]}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build(
    context: Path,
    tag: str,
    digest: str,
    timeout: float = 900,
    buildargs: dict[str, str] | None = None,
) -> bool:
    """Build `context` as `tag` unless an image with the same digest exists; True if built."""
    import docker.errors

    if _image_digest_label(tag) == digest:
        return False
    with _build_lock(digest):
        if _image_digest_label(tag) == digest:
            return False
        log.info("building %s", tag)
        api = client().api
        lines: list[str] = []
        try:
            stream = api.build(
                path=str(context),
                tag=tag,
                rm=True,
                forcerm=True,
                decode=True,
                labels={LABEL_DIGEST: digest},
                buildargs=buildargs or {},
                timeout=int(timeout),
            )
            for chunk in stream:
                if "stream" in chunk:
                    lines.append(chunk["stream"])
                if "error" in chunk:
                    raise ImageBuildError(tag, chunk["error"].strip(), "".join(lines))
        except docker.errors.APIError as exc:
            raise ImageBuildError(tag, str(exc), "".join(lines)) from exc
        except ImageBuildError:
            raise
        except Exception as exc:  # read timeouts and connection drops
            raise ImageBuildError(tag, f"{type(exc).__name__}: {exc}", "".join(lines)) from exc
    return True


# --------------------------------------------------------------------------- base images


@dataclass
class PreflightReport:
    upstream: str
    built: list[str]


def ensure_upstream_base(image: str = UPSTREAM_BASE) -> str:
    """Make `image` available: present, pulled, or built with debootstrap + import."""
    import docker.errors

    c = client()
    try:
        c.images.get(image)
        return "present"
    except docker.errors.ImageNotFound:
        pass
    repo, _, tag = image.partition(":")
    try:
        c.images.pull(repo, tag=tag or "latest")
        return "pulled"
    except docker.errors.APIError as exc:
        log.info("cannot pull %s (%s); building it with debootstrap", image, exc)
    _debootstrap_import(image)
    return "built with debootstrap"


def _debootstrap_import(image: str) -> None:
    if shutil.which("debootstrap") is None:
        raise OpsbenchError(
            f"{image} cannot be pulled and debootstrap is missing: install Debian's "
            "`debootstrap` package (or run ./opsbenchw setup:preflight as root), or make "
            "a registry reachable"
        )
    if os.geteuid() != 0:
        raise OpsbenchError(f"{image} cannot be pulled; building it with debootstrap needs root")
    suite = image.partition(":")[2].split("-")[0] or "bookworm"
    mirror = os.environ.get("OPSBENCH_DEBIAN_MIRROR", "http://deb.debian.org/debian")
    with tempfile.TemporaryDirectory(prefix="opsbench-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        proc = subprocess.run(
            ["debootstrap", "--variant=minbase", suite, str(rootfs), mirror],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise OpsbenchError(f"debootstrap failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        tarball = Path(tmp) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
        repo, _, tag = image.partition(":")
        # From the file's path: a sized upload (the stream variant sends a chunked body
        # that Docker 20.10 rejects with "invalid byte in chunk length").
        client().api.import_image_from_file(str(tarball), repository=repo, tag=tag or "latest")
    log.info("imported %s from debootstrap", image)


def resolve_ca_bundle(explicit: Path | None) -> Path | None:
    candidate = explicit or (
        Path(os.environ["OPSBENCH_CA_BUNDLE"]) if os.environ.get("OPSBENCH_CA_BUNDLE") else None
    )
    if candidate is not None:
        if not candidate.is_file():
            raise OpsbenchError(f"{candidate}: CA bundle not found")
        return candidate
    return DEFAULT_CA_BUNDLE if DEFAULT_CA_BUNDLE.is_file() else None


def ensure_task_base(environment_dir: Path, ca_bundle: Path | None) -> bool:
    """Build `opsbench-base` from environment/base plus the CA bundle."""
    source = environment_dir / "base"
    with tempfile.TemporaryDirectory(prefix="opsbench-base-") as tmp:
        ctx = Path(tmp) / "ctx"
        shutil.copytree(source, ctx)
        bundle = ca_bundle.read_bytes() if ca_bundle else b""
        (ctx / "ca-bundle.crt").write_bytes(bundle)
        digest = context_digest(ctx, UPSTREAM_BASE.encode())
        return build(ctx, TASK_BASE, digest, buildargs={"UPSTREAM": UPSTREAM_BASE})


def ensure_sidecars(environment_dir: Path) -> list[str]:
    built = []
    base_id = _image_id(TASK_BASE)
    for sidecar in BUILTIN_SIDECARS.values():
        ctx = environment_dir / sidecar.context
        if not (ctx / "Dockerfile").is_file():
            log.warning("sidecar %s: no build context at %s", sidecar.name, ctx)
            continue
        if build(ctx, sidecar.image, context_digest(ctx, base_id.encode())):
            built.append(sidecar.image)
    return built


def ensure_verifier(environment_dir: Path) -> bool:
    """Build the trusted verifier image on top of opsbench-base; True if built."""
    ctx = environment_dir / VERIFIER_CONTEXT
    digest = context_digest(ctx, _image_id(TASK_BASE).encode())
    return build(ctx, VERIFIER_IMAGE, digest, buildargs={"BASE": TASK_BASE})


GATEWAY_IMAGE = "opsbench-gateway:1"
"""The per-job model gateway (LiteLLM's proxy plus opsbench's hooks), for agents that call
models from inside the task container. Built on first use, from opsbench-base. Named here,
not in `opsbench.builtin_images`: that module ships in every task's grading bundle, so a
name added there would change every task's checksum."""
GATEWAY_CONTEXT = "gateway"


def ensure_gateway(environment_dir: Path, timeout: float = 1800) -> bool:
    """Build the model gateway image on top of opsbench-base (pip installs LiteLLM's
    proxy: minutes the first time, then cached by its context); True if built."""
    import docker.errors

    ctx = environment_dir / GATEWAY_CONTEXT
    try:
        base_id = _image_id(TASK_BASE)
    except docker.errors.ImageNotFound as exc:
        raise InfraError(f"{TASK_BASE} is missing: run `opsbench preflight`") from exc
    digest = context_digest(ctx, base_id.encode())
    return build(ctx, GATEWAY_IMAGE, digest, timeout=timeout, buildargs={"BASE": TASK_BASE})


def _image_id(tag: str) -> str:
    image: Any = client().images.get(tag)
    return str(image.id)


def task_image_tag(task_id: str, digest: str) -> str:
    return f"opsbench-task-{task_id}:{digest[:16]}"


def ensure_task_image(environment: Path, task_id: str, timeout: float) -> str:
    """Build the task's image (cached by context digest, and by the base it starts from)."""
    import docker.errors

    try:
        base_id = _image_id(TASK_BASE)
    except docker.errors.ImageNotFound as exc:
        raise InfraError(f"{TASK_BASE} is missing: run `opsbench preflight`") from exc
    digest = context_digest(environment, base_id.encode())
    tag = task_image_tag(task_id, digest)
    build(environment, tag, digest, timeout=timeout)
    return tag


# --------------------------------------------------------------------------- agent layers


def agent_image_tag(agent: str, version: str, base_id: str) -> str:
    """`opsbench-agent-opencode:1.18.33-<task image digest>`: one per agent, version, image."""
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in version)
    return f"opsbench-agent-{agent}:{safe[:80]}-{base_id.removeprefix('sha256:')[:16]}"


def ensure_agent_image(
    base_image: str, agent: str, version: str, dockerfile: str, timeout: float
) -> str:
    """The task image with an agent installed (`dockerfile` starts `FROM ${BASE}`), built
    once per agent, version and task image and cached like every other build."""
    base_id = _image_id(base_image)
    tag = agent_image_tag(agent, version, base_id)
    with tempfile.TemporaryDirectory(prefix=f"opsbench-agent-{agent}-") as tmp:
        ctx = Path(tmp)
        (ctx / "Dockerfile").write_text(dockerfile, encoding="utf-8")
        digest = context_digest(ctx, base_id.encode())
        build(ctx, tag, digest, timeout=timeout, buildargs={"BASE": base_image})
    return tag
