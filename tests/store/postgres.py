"""A real PostgreSQL server for tests: Debian's `postgresql`, started the way Docker is.

Installed with apt-get when missing (as root on Debian, as CI runs), `initdb` in a fresh
temporary directory, listening on a free port of 127.0.0.1 only, trust authentication
for one user, and stopped (its directory removed) afterwards. PostgreSQL refuses to run
as root, so as root the server runs as Debian's `postgres` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

USER = "opsbench"


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def install_postgres() -> Path | None:
    """apt-get install postgresql when we may (root on Debian); the bin dir, or None."""
    if (
        os.geteuid() != 0
        or not Path("/etc/debian_version").is_file()
        or not shutil.which("apt-get")
    ):
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postgresql"],
        check=True,
        env=env,
        capture_output=True,
    )
    return pg_bin()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    bin: Path
    dir: Path
    port: int
    run_as: str | None

    @property
    def data(self) -> Path:
        return self.dir / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / argv[0]), *argv[1:]],
            check=True,
            capture_output=True,
            text=True,
            user=self.run_as,
            cwd=self.dir,
        )

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
        options += " -c fsync=off -c full_page_writes=off -c max_connections=200"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={USER} dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def start_server() -> PostgresServer:
    bin_dir = pg_bin() or install_postgres()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL is not installed: apt-get install postgresql")
    run_as = "postgres" if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="opsbench-pg-"))
    if run_as:
        pw = pwd.getpwnam(run_as)
        os.chown(base, pw.pw_uid, pw.pw_gid)
    last: Exception | None = None
    for _ in range(3):  # a port taken between the probe and the start: try another
        server = PostgresServer(bin_dir, base, free_port(), run_as)
        try:
            server.start()
            return server
        except subprocess.CalledProcessError as exc:
            last = exc
            subprocess.run(
                [str(bin_dir / "pg_ctl"), "-D", str(server.data), "-m", "immediate", "stop"],
                capture_output=True,
                user=run_as,
                check=False,
            )
            shutil.rmtree(server.data, ignore_errors=True)
            time.sleep(0.2)
    shutil.rmtree(base, ignore_errors=True)
    raise RuntimeError(f"PostgreSQL did not start: {last}")
