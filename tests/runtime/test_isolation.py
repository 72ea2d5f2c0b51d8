"""An `isolated` task reaches its sidecars and nothing else: proved from inside the
container against listeners this test opens on the host (and in another network)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from opsbench.models.result import Outcome
from opsbench.paths import ProjectPaths
from opsbench.runtime.docker import client, labels
from tests.runtime.conftest import REPO, TrialRunner, leftovers, write_spec

SPEC = """
id: reach
title: try to reach things
category: basic
difficulty: easy
statement: Nothing to do.
environment:
  timeouts: {agent_sec: 120, provision_sec: 60}
  custom_sidecars:
    - name: web
      image: opsbench-base:1
      port: 8000
      command: ["python3", "-m", "http.server", "8000"]
      healthcheck: "curl -sf http://localhost:8000/"
solution:
  - run: "true"
checks:
  - kind: command
    name: ok
    run: "true"
"""


def host_addresses() -> dict[str, str]:
    """docker0 and every other IPv4 address of the host (not loopback, not bridges)."""
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, check=True)
    found = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        iface, addr = parts[1], parts[3].split("/")[0]
        if iface == "lo" or iface.startswith(("br-", "veth")):
            continue
        found[iface] = addr
    return found


@pytest.fixture
def host_listener() -> Iterator[tuple[int, list[str]]]:
    """A TCP listener on 0.0.0.0:<random>; yields its port and who connected."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", 0))
    srv.listen(16)
    peers: list[str] = []

    def serve() -> None:
        while True:
            try:
                conn, addr = srv.accept()
            except OSError:
                return
            peers.append(addr[0])
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield srv.getsockname()[1], peers
    srv.close()


@pytest.fixture
def other_trial() -> Iterator[str]:
    """A listener in another network, like another trial's sidecar: its IP."""
    c = client()
    net = c.networks.create("opsbench-iso-other", labels=labels("iso-other", "x", "network"))
    box = c.containers.run(
        "opsbench-base:1",
        ["python3", "-m", "http.server", "8000"],
        network=net.name,
        labels=labels("iso-other", "x", "sidecar"),
        detach=True,
    )
    try:
        box.reload()
        yield box.attrs["NetworkSettings"]["Networks"][net.name]["IPAddress"]
    finally:
        box.remove(force=True)
        net.remove()


def test_isolated_task_reaches_its_sidecar_and_nothing_else(
    project: ProjectPaths,
    run_task: TrialRunner,
    host_listener: tuple[int, list[str]],
    other_trial: str,
) -> None:
    port, peers = host_listener
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass  # the listener answers: a closed port below means blocked, not absent
    deadline = time.monotonic() + 5
    while not peers and time.monotonic() < deadline:
        time.sleep(0.01)
    assert peers == ["127.0.0.1"]
    peers.clear()
    write_spec(project, "basic", "reach", SPEC)
    targets: dict[str, object] = {"port": port, "sidecar": ["web", 8000]}
    for iface, addr in host_addresses().items():
        targets[f"host {iface}"] = [addr, port]
    targets["other trial"] = [other_trial, 8000]
    targets["internet"] = ["1.1.1.1", 80]

    result, paths = run_task("reach", "tests.runtime.isolation_agents:ReachProbe", targets=targets)

    assert result.outcome == Outcome.GRADED, result.exception
    seen = json.loads((paths.agent / "probe.json").read_text())
    assert seen.pop("sidecar") == "open", seen
    gateway = seen.pop("gateway address")
    assert gateway.endswith(".1") and "gateway" in seen and "host docker0" in seen, seen
    reached = {name: how for name, how in seen.items() if how == "open"}
    assert reached == {}, f"an isolated task reached {reached}"
    assert peers == [], f"the host listener was reached from {peers}"
    assert leftovers("test-job") == ([], [])
    rules = subprocess.run(["iptables", "-S"], capture_output=True, text=True, check=True).stdout
    assert "opsbench:test-job/reach__1" not in rules, "the trial's firewall rules outlived it"


def test_a_killed_runs_rules_are_swept_by_the_next_process() -> None:
    """Rules whose bridge is gone (their run was killed before `release`) are removed by
    the next process's first isolated trial; rules of live bridges stay."""
    from opsbench.runtime import isolation

    if isolation._cannot_enforce():
        pytest.skip("no host firewall here (not root, or no iptables)")
    gone = ["-i", "br-0psbench0ld", "!", "-o", "br-0psbench0ld"]
    rule = [*gone, "-m", "comment", "--comment", "opsbench:killed/run", "-j", "DROP"]
    subprocess.run(["iptables", "-w", "10", "-I", "DOCKER-USER", "1", *rule], check=True)
    code = "from opsbench.runtime import isolation; isolation._sweep_stale_once()"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
    listing = subprocess.run(
        ["iptables", "-w", "10", "-S", "DOCKER-USER"], capture_output=True, text=True, check=True
    ).stdout
    assert "br-0psbench0ld" not in listing, listing
