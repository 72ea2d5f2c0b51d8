"""Isolation that holds: an `isolated` trial's containers reach their sidecars, nothing else.

Docker's `internal` network has no route out and is cut off from other networks, but its
bridge's gateway address is the host's: from inside, a container still reaches every
service listening on the host (on the gateway, on `docker0`, on any host interface),
since traffic to the host's own addresses is delivered locally, not forwarded.

So for each isolated trial network this installs two firewall rules on the engine's host,
tagged with the trial, and removes them at teardown:

- `INPUT -i <bridge> -m conntrack --ctstate NEW,INVALID -j DROP`: nothing on the trial's
  bridge may open a connection to the host (replies to connections the host opened pass);
- `DOCKER-USER -i <bridge> ! -o <bridge> -j DROP`: nothing leaves the bridge for another
  network or interface (other trials, the internet), even if Docker's own rules change.

Traffic between the trial's containers stays on the bridge and is untouched; Docker's
embedded DNS (127.0.0.11) lives in each container's own namespace. Rules need root and
`iptables` on the machine the engine runs on (a local engine); where that is not possible,
the trial log says the network is only `internal`, and `OPSBENCH_REQUIRE_ISOLATION=1`
makes that an infrastructure error instead.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shlex
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsbench.failures import InfraError

log = logging.getLogger(__name__)

COMMENT_PREFIX = "opsbench:"
_TAGGED = re.compile(r'^-A (\S+) (.*--comment "?(opsbench:[^" ]+)"? .*)$')


@dataclass
class Isolation:
    """The rules one trial network got (empty when it could not be enforced)."""

    bridge: str
    tag: str
    rules: list[tuple[str, list[str]]] = field(default_factory=list)
    enforced: bool = False
    why_not: str = ""

    def describe(self) -> str:
        if self.enforced:
            return f"isolation: {self.bridge} may reach only its own containers (host firewall)"
        return f"isolation: network internal only, host addresses reachable ({self.why_not})"


def enforce(network: Any, tag: str) -> Isolation:
    """Install the rules for `network` (a docker-py Network of an isolated trial)."""
    bridge = bridge_name(network)
    iso = Isolation(bridge, f"{COMMENT_PREFIX}{tag}"[:250])
    why_not = _cannot_enforce_cached()
    if why_not:
        iso.why_not = why_not
        if os.environ.get("OPSBENCH_REQUIRE_ISOLATION") == "1":
            raise InfraError(f"cannot isolate the trial network: {why_not}")
        return iso
    _sweep_stale_once()
    comment = ["-m", "comment", "--comment", iso.tag]
    wanted = [
        ("INPUT", ["-i", bridge, "-m", "conntrack", "--ctstate", "NEW,INVALID", *comment]),
        ("DOCKER-USER", ["-i", bridge, "!", "-o", bridge, *comment]),
    ]
    for chain, match in wanted:
        _iptables("-I", chain, "1", *match, "-j", "DROP")
        iso.rules.append((chain, [*match, "-j", "DROP"]))
    iso.enforced = True
    return iso


def release(iso: Isolation | None) -> None:
    """Remove the rules `enforce` installed. Never raises (teardown calls it)."""
    if iso is None:
        return
    for chain, rule in reversed(iso.rules):
        try:
            _iptables("-D", chain, *rule)
        except Exception as exc:  # already gone (a sweep), or iptables away: log, go on
            log.warning("isolation: removing %s rule for %s: %s", chain, iso.bridge, exc)
    iso.rules.clear()


def bridge_name(network: Any) -> str:
    """The host interface of a bridge network: its explicit name, or Docker's `br-<id12>`."""
    options = (network.attrs or {}).get("Options") or {}
    return str(options.get("com.docker.network.bridge.name") or f"br-{network.id[:12]}")


_checked: dict[str, str] = {}
_checked_lock = threading.Lock()


def _cannot_enforce_cached() -> str:
    """`_cannot_enforce` once per process and engine address (each call costs iptables
    runs, and a trial start should not pay them again)."""
    key = os.environ.get("DOCKER_HOST", "")
    with _checked_lock:
        if key not in _checked:
            _checked[key] = _cannot_enforce()
        return _checked[key]


_swept = threading.Event()


def _sweep_stale_once() -> None:
    """A killed run's rules are swept by the next process's first isolated trial; this
    process removes its own rules itself (`release`), so once per process is enough."""
    with _checked_lock:
        if _swept.is_set():
            return
        _swept.set()
    _sweep_stale()


def _cannot_enforce() -> str:
    host = os.environ.get("DOCKER_HOST", "")
    if host and not host.startswith("unix://"):
        return f"the engine is remote ({host})"
    if os.geteuid() != 0:
        return "not running as root"
    if shutil.which("iptables") is None:
        return "no iptables"
    try:
        _iptables("-S", "DOCKER-USER")
    except Exception as exc:
        return f"no usable DOCKER-USER chain ({exc})"
    return ""


def _iptables(*args: str) -> str:
    proc = subprocess.run(
        ["iptables", "-w", "10", *args], capture_output=True, text=True, timeout=30, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip() or f"iptables exited {proc.returncode}")
    return proc.stdout


def _sweep_stale() -> None:
    """Remove opsbench rules whose bridge no longer exists (a killed run's)."""
    for chain in ("INPUT", "DOCKER-USER"):
        try:
            listing = _iptables("-S", chain)
        except Exception:
            continue
        for line in listing.splitlines():
            found = _TAGGED.match(line)
            if not found:
                continue
            bridge = re.search(r"-i (\S+)", found.group(2))
            if bridge and not Path("/sys/class/net", bridge.group(1)).exists():
                with contextlib.suppress(Exception):  # removed concurrently by its owner
                    _iptables("-D", chain, *shlex.split(found.group(2)))
