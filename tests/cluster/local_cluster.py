"""A real Ray cluster on this machine: a head and worker nodes as separate `ray start`
processes, each with its own resources, all on loopback and sharing the one Docker
engine. Used by the cluster tests and `benchmarks/ray_bench.py`.

Each node is `ray start --block` in its own session, so killing its process group is a
node dying (raylet, its workers and all). Ports are picked free; the head's health
checks are quick so a killed node is declared dead in seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOOPBACK = [sys.executable, "-m", "tests.cluster.loopback"]
"""Ray's CLI or opsbench's, with Ray kept on loopback (`tests.cluster.loopback`)."""
NODE_ENV = {
    "RAY_health_check_initial_delay_ms": "1000",
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
    "RAY_USAGE_STATS_ENABLED": "0",
}
START_TIMEOUT = 180.0
START_ATTEMPTS = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _ahead_of_the_crowd() -> None:
    """Run the node at a higher priority when we may (root): on a busy shared machine a
    raylet gives up on its slow-starting agents after ~15 s and the node dies."""
    if os.geteuid() == 0:
        os.nice(-10)


@dataclass
class RayNode:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    scratch: Path
    """The node's scratch directory (`opsbench.cluster.node.node_dir()` there): its own,
    as on a machine of its own."""

    def kill(self) -> None:
        """The node dies: SIGKILL to its whole process group."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)  # then killed: the cluster is thrown away
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class LocalRayCluster:
    temp_dir: Path
    port: int = field(default_factory=free_port)
    nodes: list[RayNode] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start_head(self, resources: dict[str, float], num_cpus: int = 1) -> RayNode:
        args = ["--head", f"--port={self.port}", "--include-dashboard=false"]
        args += [f"--temp-dir={self.temp_dir}"]
        return self._start("head", args, resources, num_cpus)

    def add_node(self, resources: dict[str, float], num_cpus: int = 1) -> RayNode:
        name = f"worker{len(self.nodes)}"
        return self._start(name, [f"--address={self.address}"], resources, num_cpus)

    def _start(
        self, name: str, args: list[str], resources: dict[str, float], num_cpus: int
    ) -> RayNode:
        """Start a node; again (up to `START_ATTEMPTS` times) when it dies starting: a
        raylet gives its agents ~15 s to come up, which a busy 2-core machine can miss."""
        for attempt in range(1, START_ATTEMPTS + 1):
            node = self._launch(name, args, resources, num_cpus)
            try:
                self._wait_started(node)
            except RuntimeError:
                node.kill()
                if attempt == START_ATTEMPTS:
                    raise
                if name == "head":
                    self.port = free_port()
                    args = [
                        a if not a.startswith("--port=") else f"--port={self.port}" for a in args
                    ]
                continue
            self.nodes.append(node)
            return node
        raise AssertionError("unreachable")

    def _launch(
        self, name: str, args: list[str], resources: dict[str, float], num_cpus: int
    ) -> RayNode:
        stem = f"ray-{name}-{len(self.nodes)}-{time.monotonic_ns()}"
        log = self.temp_dir.parent / f"{stem}.log"
        scratch_root = self.temp_dir.parent / f"{stem}-scratch"
        ports = {
            "--dashboard-agent-listen-port": free_port(),
            "--dashboard-agent-grpc-port": free_port(),
            "--metrics-export-port": free_port(),
            "--runtime-env-agent-port": free_port(),
        }
        cmd = [
            *LOOPBACK,
            "ray",
            "start",
            *args,
            "--node-ip-address=127.0.0.1",
            f"--num-cpus={num_cpus}",
        ]
        cmd += [f"--resources={json.dumps(resources)}", "--disable-usage-stats", "--block"]
        cmd += [f"{flag}={port}" for flag, port in ports.items()]
        with log.open("wb") as out:
            process = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=REPO,
                env={**os.environ, **NODE_ENV, "OPSBENCH_NODE_DIR": str(scratch_root)},
                preexec_fn=_ahead_of_the_crowd,
            )
        return RayNode(name, process, log, scratch_root / "opsbench-node")

    def _wait_started(self, node: RayNode) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            text = node.log.read_text(errors="replace")
            if "Ray runtime started" in text:
                return
            if node.process.poll() is not None:
                raise RuntimeError(f"ray node {node.name} exited:\n{text[-3000:]}")
            time.sleep(0.3)
        raise RuntimeError(f"ray node {node.name} did not start in {START_TIMEOUT}s")

    def stop(self) -> None:
        """Workers first, the head last."""
        for node in reversed(self.nodes):
            node.stop()
