"""Job locks: one process at a time works on a job (or suite) directory.

Two runs of the same job (two terminals, a cron job overlapping a manual run) would
archive each other's in-flight trials and collide on container names. So every command
that writes into a job directory holds an exclusive lock on it for its whole life:

- `job`, `suite` and `validate` take it at once and refuse if it is held, naming the
  holder's pid and host;
- `regrade`, `report` and `store ingest` (any reader that writes, or needs a finished job)
  wait up to `--wait` seconds, then refuse just as clearly.

The lock is an OS file lock (`filelock`, flock underneath) on `<dir>/.opsbench.lock`: the
kernel releases it when its holder dies however it dies, so a dead holder never blocks a
rerun. Beside it, `.opsbench.lock.json` names the holder (pid, host, command, since) for
the refusal message; it is removed on a clean release, so finding one on a free lock means
the last holder died, which the taker says in one line.

A command opts in with the `@holding` decorator (the locks it takes are released when it
returns or raises) and one `take(dir, command)` line per directory: small hooks in the
command modules, the logic here.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from opsbench.errors import OpsbenchError

if TYPE_CHECKING:
    import filelock

log = logging.getLogger(__name__)

LOCK_FILE = ".opsbench.lock"
INFO_FILE = ".opsbench.lock.json"

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a lock."""

    pid: int
    host: str
    command: str
    since: str

    def describe(self) -> str:
        return f"pid {self.pid} on host {self.host} ({self.command}, since {self.since})"

    @classmethod
    def me(cls, command: str) -> Holder:
        import socket

        since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return cls(os.getpid(), socket.gethostname(), command, since)


class JobLocked(OpsbenchError):
    """Another process holds the lock of a directory this command needs."""

    exit_code = 3


class _Session:
    """The locks one command holds; released together when the command ends."""

    def __init__(self) -> None:
        self.locks: list[tuple[Path, filelock.BaseFileLock]] = []

    def holds(self, directory: Path) -> bool:
        return any(d == directory for d, _ in self.locks)

    def release(self) -> None:
        for directory, lock in reversed(self.locks):
            _remove_info(directory)
            lock.release()
        self.locks.clear()


_session: contextvars.ContextVar[_Session | None] = contextvars.ContextVar(
    "opsbench_joblock_session", default=None
)


def holding(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` with a lock session: every `take` inside it is released when it ends."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        session = _Session()
        token = _session.set(session)
        try:
            return func(*args, **kwargs)
        finally:
            session.release()
            _session.reset(token)

    return wrapper


def take(directory: Path, command: str, wait: float = 0.0) -> None:
    """Lock `directory` for the current command (creating it), or raise `JobLocked`.

    `wait` is how long to wait for a holder to finish (0: refuse at once). Taking a
    directory this command already holds is a no-op.
    """
    import filelock  # here, not at import: every command module imports this one

    session = _session.get()
    if session is None:
        raise RuntimeError("joblock.take outside a @holding command")
    directory = directory.resolve()
    if session.holds(directory):
        return
    directory.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(directory / LOCK_FILE, thread_local=False)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        holder = read_holder(directory)
        who = holder.describe() if holder else "another process"
        if wait <= 0:
            raise JobLocked(_refusal(directory, who, command)) from None
        log.warning("%s: in use by %s; waiting up to %gs", directory, who, wait)
        try:
            lock.acquire(timeout=wait)
        except filelock.Timeout:
            raise JobLocked(_refusal(directory, who, command, waited=wait)) from None
    previous = read_holder(directory)
    if previous is not None:
        log.warning(
            "%s: the previous holder of its lock, %s, is gone without releasing it; taking over",
            directory,
            previous.describe(),
        )
    _write_info(directory, Holder.me(command))
    session.locks.append((directory, lock))


def read_holder(directory: Path) -> Holder | None:
    """The holder named beside the lock, or None (free, or an unreadable note)."""
    try:
        data = json.loads((directory / INFO_FILE).read_text(encoding="utf-8"))
        return Holder(int(data["pid"]), str(data["host"]), str(data["command"]), str(data["since"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _refusal(directory: Path, who: str, command: str, waited: float = 0.0) -> str:
    after = f" after waiting {waited:g}s" if waited else ""
    hint = (
        " (pass --wait SECONDS to wait for it)"
        if command in {"regrade", "report", "store ingest"}
        else ""
    )
    return (
        f"{directory}: in use by {who}; {command} refused{after}{hint}. "
        "Let that run finish or stop it, then rerun."
    )


def _write_info(directory: Path, holder: Holder) -> None:
    path = directory / INFO_FILE
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(holder)) + "\n", encoding="utf-8")
    tmp.replace(path)


def _remove_info(directory: Path) -> None:
    # The directory may have been moved or removed by the command itself.
    with contextlib.suppress(OSError):
        (directory / INFO_FILE).unlink()
