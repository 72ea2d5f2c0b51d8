"""The sandbox handle agents get: exec, upload, download, sidecar endpoints.

`Sandbox` is the small boundary between agents and the runtime; `DockerSandbox` implements
it over a trial's main container, a fake can implement it for fast lifecycle tests.
`AuditedSandbox` wraps any sandbox and appends every exec to `agent/commands.jsonl` — the
audit record compliance is graded from — so an agent cannot act without leaving a trace.
"""

from __future__ import annotations

import json
import shlex
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from grading.checks import clip
from opsbench.models.trajectory import now_iso

OUTPUT_LIMIT = 16_000


@dataclass(frozen=True)
class ExecOutput:
    exit_code: int
    stdout: str
    stderr: str
    duration_sec: float
    timed_out: bool = False


@dataclass(frozen=True)
class Endpoint:
    """A sidecar as seen from inside the sandbox (e.g. http://o11y:9090)."""

    name: str
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class SandboxClosed(RuntimeError):
    """The sandbox was stopped (timeout, cancel): the agent must stop acting."""


class Sandbox(ABC):
    @abstractmethod
    def exec(
        self,
        command: str,
        *,
        timeout: float = 60,
        user: str | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
    ) -> ExecOutput:
        """Run `command` with bash in the sandbox; a timeout gives exit code 124."""

    @abstractmethod
    def upload(self, local: Path, remote: str) -> None:
        """Copy a local file or directory to `remote` (an absolute path) in the sandbox."""

    @abstractmethod
    def download(self, remote: str, local: Path) -> None:
        """Copy a file or directory from the sandbox to `local`."""

    @property
    def endpoints(self) -> dict[str, Endpoint]:
        return {}

    def fetch(self, url: str, timeout: float = 30) -> ExecOutput:
        """HTTP GET from inside the sandbox (where sidecars resolve by name)."""
        return self.exec(
            f"curl -sS --max-time {int(timeout)} {shlex.quote(url)}", timeout=timeout + 5
        )


truncate = clip
"""Head and tail of long output with a marker between: one implementation for agents,
the audit record and grading evidence (it lives in `grading.checks`, which must stay
standard-library only because it is copied into every task)."""


class AuditedSandbox(Sandbox):
    """Records every exec (time, command, user, exit code, duration, truncated output)."""

    def __init__(self, inner: Sandbox, log_path: Path) -> None:
        self.inner = inner
        self.log_path = log_path
        self._lock = threading.Lock()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        # A record reopened (a rejoined shell session) continues its numbering.
        self._index = len(log_path.read_bytes().splitlines()) if log_path.is_file() else 0

    def exec(
        self,
        command: str,
        *,
        timeout: float = 60,
        user: str | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
    ) -> ExecOutput:
        started = now_iso()
        t0 = time.monotonic()
        try:
            out = self.inner.exec(command, timeout=timeout, user=user, env=env, cwd=cwd)
        except Exception as exc:
            self._record(started, command, user, cwd, None, time.monotonic() - t0, "", repr(exc))
            raise
        self._record(
            started,
            command,
            user,
            cwd,
            out.exit_code,
            out.duration_sec,
            out.stdout,
            out.stderr,
            out.timed_out,
        )
        return out

    def _record(
        self,
        started: str,
        command: str,
        user: str | None,
        cwd: str | None,
        exit_code: int | None,
        duration: float,
        stdout: str,
        stderr: str,
        timed_out: bool = False,
        source: str = "",
    ) -> None:
        with self._lock:
            self._index += 1
            entry: dict[str, Any] = {
                "index": self._index,
                "time": started,
                "command": command,
                "user": user or "",
                "cwd": cwd or "",
                "exit_code": exit_code,
                "duration_sec": round(duration, 3),
                "timed_out": timed_out,
                # As much as an agent is shown (OUTPUT_LIMIT): grounding reads this record.
                "stdout": truncate(stdout, OUTPUT_LIMIT),
                "stderr": truncate(stderr, OUTPUT_LIMIT // 4),
            }
            if source:
                entry["source"] = source
            with self.log_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def note(
        self,
        started: str,
        command: str,
        user: str | None,
        cwd: str | None,
        exit_code: int | None,
        source: str,
        stdout: str = "",
    ) -> None:
        """Append a command run outside `exec` (a person's shell, an installed CLI's tool)
        to the same record; `source` says where it was read from."""
        self._record(started, command, user, cwd, exit_code, 0.0, stdout, "", source=source)

    @property
    def recorded(self) -> int:
        """How many execs the record holds so far."""
        return self._index

    def upload(self, local: Path, remote: str) -> None:
        self.inner.upload(local, remote)

    def download(self, remote: str, local: Path) -> None:
        self.inner.download(remote, local)

    @property
    def endpoints(self) -> dict[str, Endpoint]:
        return self.inner.endpoints


@dataclass(frozen=True)
class CommandRecord:
    index: int
    time: str
    command: str
    exit_code: int | None
    stdout: str = ""
    stderr: str = ""
    user: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_commands(path: Path) -> list[CommandRecord]:
    """The audit record; a torn last line (crash mid-write) is skipped, not fatal."""
    records: list[CommandRecord] = []
    if not path.is_file():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            raw = json.loads(line)
        except ValueError:
            continue
        records.append(
            CommandRecord(
                index=raw["index"],
                time=raw["time"],
                command=raw["command"],
                exit_code=raw.get("exit_code"),
                stdout=raw.get("stdout", ""),
                stderr=raw.get("stderr", ""),
                user=raw.get("user", ""),
            )
        )
    return records
