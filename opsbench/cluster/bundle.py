"""Directories as tar bytes: how build contexts, tasks and trial directories travel
between the driver and the nodes (no shared filesystem is assumed)."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import uuid
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Bundle:
    """A directory packed as tar bytes, named by the digest of those bytes."""

    digest: str
    data: bytes


def pack(directory: Path) -> Bundle:
    """`directory` as an uncompressed tar (members relative to it, sorted, so one tree
    always gives the same bytes and the same digest)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(directory.rglob("*")):
            info = tar.gettarinfo(str(path), arcname=path.relative_to(directory).as_posix())
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            if info.isfile():
                with path.open("rb") as fh:
                    tar.addfile(info, fh)
            elif info.isdir() or info.issym():
                tar.addfile(info)
    data = buf.getvalue()
    return Bundle(hashlib.sha256(data).hexdigest(), data)


def unpack(data: bytes, into: Path, skip: frozenset[str] = frozenset()) -> None:
    """Extract tar bytes into `into` (the `data` filter: no absolute paths, no escapes),
    leaving out the members named in `skip`."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = [m for m in tar.getmembers() if m.name not in skip]
        tar.extractall(into, members=members, filter="data")


def member(data: bytes, name: str) -> bytes | None:
    """One file of tar bytes, or None when it is not there."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        try:
            fh = tar.extractfile(name)
        except KeyError:
            return None
        return fh.read() if fh is not None else None


def unpack_once(bundle: Bundle, root: Path) -> Path:
    """The bundle unpacked under `root`, named by its digest; unpacked only the first
    time (into a temporary directory renamed into place, so concurrent workers on one
    node never see half a tree)."""
    target = root / bundle.digest[:24]
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{bundle.digest[:24]}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    unpack(bundle.data, tmp)
    try:
        tmp.rename(target)
    except OSError:  # another worker won the race: its copy is the same bytes
        shutil.rmtree(tmp, ignore_errors=True)
    return target
