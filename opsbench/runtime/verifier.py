"""The trusted verifier on Docker: opsbench's own container, joined to a trial to grade it.

Everything inside the task container after the agent ran is the agent's, so grading
takes nothing from there on trust (DESIGN: the trust boundary of grading):

- commands run in a fresh `opsbench-verifier` container that shares only the task
  container's network namespace: it reaches the task's localhost and its sidecars, but
  its binaries, libraries and files are its own;
- names resolve from a hosts file the runtime writes from the engine's view of the
  trial network (mounted read-only over the shared `/etc/hosts`, which the agent could
  have edited): `main`, `localhost` and every sidecar, by the addresses Docker assigned;
- files are read through the engine (`get_archive`), never through the task's `cat`;
- processes are listed by the engine (`top`: the host's ps, not the task's);
- before grading, the agent's exec sessions still running in the foreground (an agent
  that timed out mid-command) are killed from the host; daemons it started stay, since
  a check may be about them.
A verifier that cannot start is infrastructure's failure (`infra_error`), never a fail.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import signal
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from grading.checks import ExecResult, FileReader, FileState, ProcessLister, ProcessState
from opsbench.builtin_images import VERIFIER_IMAGE
from opsbench.failures import InfraError
from opsbench.runtime import engine
from opsbench.runtime.base import Verifier
from opsbench.runtime.docker import client, labels
from opsbench.runtime.sandbox_docker import DockerSandbox

log = logging.getLogger(__name__)

FILE_READ_LIMIT = 1_048_576


class DockerVerifier(Verifier):
    """One trial's verifier container and the engine-side probes around it."""

    def __init__(
        self,
        main: Any,
        network: Any,
        sidecars: dict[str, Any],
        job: str,
        trial: str,
    ) -> None:
        self.main = main
        self.task = DockerSandbox(main, default_user="root")
        self.network = network
        self.sidecars = sidecars
        self.job, self.trial = job, trial
        self.container: Any = None
        self._dir = Path(tempfile.mkdtemp(prefix="opsbench-verifier-"))
        self._sandbox: DockerSandbox | None = None

    @property
    def _hosts(self) -> Path:
        return self._dir / "hosts"

    def start(self) -> None:
        """Start the verifier container; InfraError when it cannot.

        Started as soon as the task container runs (it shares only its network
        namespace, so the agent can neither see nor signal it) and idle until grading;
        `refresh_hosts` writes the names it resolves just before it is used.
        """
        import docker.errors

        hosts = self._hosts
        hosts.write_text("127.0.0.1\tlocalhost main\n")
        resolv = self._dir / "resolv.conf"
        resolv.write_text("nameserver 127.0.0.11\noptions ndots:0\n")
        try:
            self.container = client().containers.run(
                VERIFIER_IMAGE,
                ["sleep", "infinity"],
                name=f"{self.main.name.removesuffix('-main')}-verifier",
                labels=labels(self.job, self.trial, "verifier"),
                network_mode=f"container:{self.main.id}",
                volumes={
                    str(hosts): {"bind": "/etc/hosts", "mode": "ro"},
                    str(resolv): {"bind": "/etc/resolv.conf", "mode": "ro"},
                },
                init=True,
                detach=True,
            )
        except docker.errors.ImageNotFound as exc:
            raise InfraError(f"{VERIFIER_IMAGE} is missing: run `opsbench preflight`") from exc
        except docker.errors.APIError as exc:
            raise InfraError(f"the verifier container could not start: {exc}") from exc
        self._sandbox = DockerSandbox(self.container, default_user="root")

    def refresh_hosts(self) -> None:
        """Rewrite the mounted hosts file in place (same inode, so the container sees it)."""
        with self._hosts.open("r+") as fh:
            fh.seek(0)
            fh.write(self.hosts_file())
            fh.truncate()

    def hosts_file(self) -> str:
        """`/etc/hosts` from the engine's view of the trial network, not the task's."""
        lines = ["127.0.0.1\tlocalhost main", "::1\tlocalhost ip6-localhost"]
        for name, container in sorted(self.sidecars.items()):
            container.reload()
            nets = container.attrs.get("NetworkSettings", {}).get("Networks", {})
            address = (nets.get(self.network.name) or {}).get("IPAddress")
            if address:
                lines.append(f"{address}\t{name}")
        return "\n".join(lines) + "\n"

    # ----------------------------------------------------------------- probes

    def exec(self, command: str, user: str, timeout: float) -> ExecResult:
        """Run `command` with the verifier's own tools, in the task's network."""
        if self._sandbox is None:
            raise InfraError("the verifier was not started")
        out = self._sandbox.exec(command, timeout=timeout, user=user or "root")
        return ExecResult(out.exit_code, out.stdout, out.stderr)

    def task_exec(self, command: str, user: str, timeout: float) -> ExecResult:
        """Run `command` in the task container itself (only for `in_task` checks)."""
        out = self.task.exec(command, timeout=timeout, user=user or "root")
        return ExecResult(out.exit_code, out.stdout, out.stderr)

    @property
    def file_reader(self) -> FileReader:
        return self.read_file

    def read_file(self, path: str) -> FileState:
        """A file's state in the task container, read through the engine."""
        import docker.errors

        try:
            stream, _ = self.main.get_archive(path)
        except docker.errors.NotFound:
            return FileState(exists=False)
        except Exception as exc:  # the engine failing is nobody's verdict
            engine.reraise(exc, f"reading {path}")
        data = io.BytesIO(b"".join(stream))
        with tarfile.open(fileobj=data) as tar:
            member = tar.next()
            if member is None:
                return FileState(exists=False)
            content = None
            if member.isfile():
                fh = tar.extractfile(member)
                raw = fh.read(FILE_READ_LIMIT) if fh is not None else b""
                content = raw.decode("utf-8", "replace")
            kind = "file" if member.isfile() else "dir" if member.isdir() else "other"
            if member.issym():
                kind = "symlink"
            return FileState(
                exists=True,
                kind=kind,
                mode=format(member.mode & 0o7777, "04o"),
                owner=self._user_name(member.uid),
                content=content,
            )

    def _user_name(self, uid: int) -> str:
        """uid -> name from the task's /etc/passwd as the engine reads it."""
        passwd = self.read_passwd()
        return passwd.get(uid, str(uid))

    def read_passwd(self) -> dict[int, str]:
        import docker.errors

        try:
            stream, _ = self.main.get_archive("/etc/passwd")
        except docker.errors.NotFound:
            return {}
        except Exception as exc:
            engine.reraise(exc, "reading /etc/passwd")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.next()
            fh = tar.extractfile(member) if member is not None else None
            text = fh.read().decode("utf-8", "replace") if fh is not None else ""
        out: dict[int, str] = {}
        for line in text.splitlines():
            parts = line.split(":")
            if len(parts) > 3 and parts[2].isdigit():
                out.setdefault(int(parts[2]), parts[0])
        return out

    def processes(self) -> list[dict[str, str]]:
        """The task container's processes as the engine lists them (host ps)."""
        try:
            top = self.main.top(ps_args="-eo pid,ppid,uid,args")
        except Exception as exc:
            engine.reraise(exc, "listing processes")
        titles = [t.upper() for t in top.get("Titles", [])]
        return [dict(zip(titles, row, strict=False)) for row in top.get("Processes") or []]

    @property
    def process_lister(self) -> ProcessLister:
        return self.process_states

    def process_states(self) -> list[ProcessState]:
        """Users named from the task's /etc/passwd (read through the engine)."""
        names = self.read_passwd()
        out = []
        for p in self.processes():
            uid = p.get("UID", "")
            user = names.get(int(uid), uid) if uid.isdigit() else uid
            out.append(ProcessState(p["PID"], p["PPID"], user, p.get("COMMAND", "")))
        return out

    def stop_foreground(self) -> list[str]:
        """Kill the agent's exec sessions still running (their whole process trees).

        An exec session's root process has a parent outside the container (the engine's
        shim); the container's own init has one too and is kept. Killed from the host by
        host PID, so no binary of the agent's takes part. Returns what was killed.
        """
        procs = self.processes()
        pids = {p["PID"] for p in procs}
        init = str(self.main.attrs.get("State", {}).get("Pid", ""))
        roots = {p["PID"] for p in procs if p["PPID"] not in pids and p["PID"] != init}
        doomed = set(roots)
        changed = True
        while changed:
            more = {p["PID"] for p in procs if p["PPID"] in doomed} - doomed
            changed = bool(more)
            doomed |= more
        killed = []
        for p in procs:
            if p["PID"] in doomed:
                try:
                    os.kill(int(p["PID"]), signal.SIGKILL)
                    killed.append(p.get("COMMAND", p["PID"]))
                except (ProcessLookupError, PermissionError, ValueError):
                    continue
        return killed

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.close()
        shutil.rmtree(self._dir, ignore_errors=True)
