"""`DockerSandbox`: the Sandbox ABC over a trial's main container (Docker SDK).

Commands run as `timeout -k 2 <t> bash -c <cmd>` inside the container, so a command's
deadline is enforced where it runs and the exec stream always ends; exit code 124 means
it timed out. Output is capped so a command that prints without bound cannot exhaust the
orchestrator's memory.
"""

from __future__ import annotations

import io
import shlex
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

from opsbench.sandbox import Endpoint, ExecOutput, Sandbox, SandboxClosed

MAX_STREAM_BYTES = 2_000_000


class DockerSandbox(Sandbox):
    def __init__(
        self,
        container: Any,
        endpoints: dict[str, Endpoint] | None = None,
        default_user: str | None = None,
        workdir: str | None = None,
    ) -> None:
        from opsbench.runtime.engine import api_client

        self.container = container
        self._endpoints = endpoints or {}
        self.default_user = default_user
        self.workdir = workdir
        # No socket timeout: the in-container `timeout` ends every exec, and stopping the
        # container ends the stream of one that hangs.
        self._api = api_client(timeout=None)
        self._closed = threading.Event()

    def close(self) -> None:
        """Refuse further execs (the trial is tearing down or timed out)."""
        self._closed.set()

    @property
    def endpoints(self) -> dict[str, Endpoint]:
        return dict(self._endpoints)

    def exec(
        self,
        command: str,
        *,
        timeout: float = 60,
        user: str | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
    ) -> ExecOutput:
        from opsbench.runtime.engine import engine_fault, stop_reason

        if self._closed.is_set():
            raise SandboxClosed("the sandbox is closed")
        wrapped = ["timeout", "-k", "2", f"{max(timeout, 0.1):g}", "bash", "-c", command]
        start = time.monotonic()
        try:
            exec_id = self._api.exec_create(
                self.container.id,
                wrapped,
                user=user or self.default_user or "",
                environment=env,
                workdir=cwd or self.workdir,
            )["Id"]
            out, err = self._api.exec_start(exec_id, demux=True)
            exit_code = self._api.exec_inspect(exec_id)["ExitCode"]
        except Exception as exc:
            if self._closed.is_set():
                raise SandboxClosed("the sandbox was closed during the command") from exc
            fault = stop_reason(self.container.id) or engine_fault(exc, "exec")
            if fault is None:
                raise
            raise fault from exc
        duration = time.monotonic() - start
        stopped = stop_reason(self.container.id)  # opsbench stopped it (a disk limit)
        if stopped is not None:
            raise stopped
        if exit_code is None:  # stream ended without an exit: the container went away
            raise SandboxClosed("the container stopped during the command")
        return ExecOutput(
            exit_code=int(exit_code),
            stdout=_decode(out),
            stderr=_decode(err),
            duration_sec=duration,
            timed_out=exit_code in (124, 137) and duration >= timeout,
        )

    def upload(self, local: Path, remote: str) -> None:
        """Copy a file or directory to `remote` (its full destination path)."""
        if self._closed.is_set():
            raise SandboxClosed("the sandbox is closed")
        parent, _, name = remote.rstrip("/").rpartition("/")
        self.exec(f"mkdir -p {shlex.quote(parent or '/')}", timeout=30, user="root")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            tar.add(str(local), arcname=name)
        self.container.put_archive(parent or "/", buf.getvalue())

    def download(self, remote: str, local: Path) -> None:
        """Copy `remote` to `local` (a file path, or a directory path for a directory)."""
        stream, _ = self.container.get_archive(remote)
        buf = io.BytesIO(b"".join(stream))
        name = remote.rstrip("/").rpartition("/")[2]
        with tarfile.open(fileobj=buf) as tar:
            members = tar.getmembers()
            local.parent.mkdir(parents=True, exist_ok=True)
            for member in members:
                rel = member.name[len(name) :].lstrip("/") if member.name.startswith(name) else ""
                target = local / rel if rel else local
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                elif member.isfile():
                    fh = tar.extractfile(member)
                    if fh is not None:
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(fh.read())


def _decode(data: bytes | None) -> str:
    if not data:
        return ""
    if len(data) > MAX_STREAM_BYTES:
        half = MAX_STREAM_BYTES // 2
        omitted = len(data) - MAX_STREAM_BYTES
        data = data[:half] + f"\n[... {omitted} bytes omitted ...]\n".encode() + data[-half:]
    return data.decode("utf-8", errors="replace")
