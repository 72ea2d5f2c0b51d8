"""Processes, hosts and deploys of every service: CPU, memory, restarts, disks, versions.

CPU follows the requests `traffic` produced; a deploy restarts its process (counters
reset, `process_start_time_seconds` moves, `up` misses one scrape, `app_build_info`
changes version) and logs the rollout; the db volume fills as the scenario says.
"""

from __future__ import annotations

import math
import random

from opsbench.o11y.model import Labels, LogEntry, Series
from opsbench.o11y.scenario import SERVICES, Scenario
from opsbench.o11y.timeline import Timeline, cumulate, rng

Load = dict[str, list[int]]
"""Requests per step for each service (cache and db included), and "payments_5xx"."""

VERSIONS = {
    "gateway": ("1.14.1", "8e1a3c2"),
    "checkout": ("2.7.3", "51f0d9e"),
    "payments": ("4.0.9", "2b7e4f1"),
    "orders": ("3.1.7", "d4c93a0"),
    "cache": ("7.0.15", "7.0.15"),
    "db": ("15.6", "15.6"),
}
"""Versions running when the history starts."""

PORTS = {"gateway": 8080, "checkout": 8080, "payments": 8080, "orders": 8080}
PORTS |= {"cache": 9121, "db": 9187}
CPU = {
    "gateway": (0.35, 0.02),
    "checkout": (0.2, 0.05),
    "payments": (0.15, 0.03),
    "orders": (0.3, 0.04),
    "cache": (0.25, 0.002),
    "db": (0.9, 0.006),
}
"""(idle cores, cores per request/s)."""
MEMORY_MB = {
    "gateway": 180,
    "checkout": 310,
    "payments": 260,
    "orders": 420,
    "cache": 2150,
    "db": 4300,
}
GIB = 1024**3


def app_labels(service: str, **extra: str) -> Labels:
    base = {"instance": f"{service}-0:{PORTS[service]}", "job": service, "service": service}
    return tuple(sorted((base | extra).items()))


def restarts(tl: Timeline, sc: Scenario) -> dict[str, frozenset[int]]:
    """The samples in whose interval each service's process restarted (its deploys)."""
    out: dict[str, frozenset[int]] = {s: frozenset() for s in SERVICES}
    for d in sc.deploys:
        out[d.service] |= {tl.index_after(d.ago)}
    return out


class Infra:
    def __init__(self, seed: int, tl: Timeline, sc: Scenario, load: Load) -> None:
        self.seed, self.tl, self.sc, self.load = seed, tl, sc, load
        self.times = tl.times
        self.series: list[Series] = []
        self.logs: list[LogEntry] = []
        self.restarts = restarts(tl, sc)

    def run(self) -> Infra:
        for service in SERVICES:
            self._process(service)
            self._deploys(service)
            self._root_filesystem(service)
        self._disk_fill()
        return self

    def _add(
        self, name: str, labels: Labels, values: list[float | None], integer: bool = False
    ) -> None:
        self.series.append(Series(name, labels, values, integer))

    def _log(self, ms: int, service: str, level: str, text: str) -> None:
        self.logs.append(LogEntry(ms, service, level, text))

    def _after(self, i: int, service: str) -> bool:
        reg = self.sc.latency_regression
        return service == reg.service and i >= self.tl.index_after(reg.ago)

    # ----------------------------------------------------------------- processes

    def _process(self, service: str) -> None:
        step, points = self.tl.step, self.tl.points
        r = rng(self.seed, "process", service)
        noisy = service == self.sc.noisy.service
        idle, per_rps = CPU[service]
        cpu = []
        for i, n in enumerate(self.load[service]):
            cores = (idle + per_rps * n / step) * (1.45 if self._after(i, service) else 1.0)
            spike = 2.5 if noisy and r.random() < 0.03 else 1.0
            cpu.append(cores * spike * math.exp(r.gauss(0, 0.35 if noisy else 0.05)))
        uptime = r.uniform(3600, 5 * 86400)
        labels = app_labels(service)
        restarts = self.restarts[service]
        seconds = cumulate([c * step for c in cpu], cpu[0] * uptime, restarts)
        self._add("process_cpu_seconds_total", labels, [round(v, 2) for v in seconds])
        self._add("process_resident_memory_bytes", labels, self._memory(service, r))
        starts: list[float | None] = []
        start = float(round(self.times[0] - uptime))
        for i in range(points):
            if i in restarts:
                start = float(self.times[i] - step // 2)
            starts.append(start)
        self._add("process_start_time_seconds", labels, starts, True)
        up: list[float | None] = [0.0 if i in restarts else 1.0 for i in range(points)]
        self._add("up", labels, up, True)

    def _memory(self, service: str, r: random.Random) -> list[float | None]:
        """A GC sawtooth around the service's working set; checkout 2.8.0 needs 90 MB more."""
        base = MEMORY_MB[service]
        period = r.randrange(600, 1500)
        out: list[float | None] = []
        for i, t in enumerate(self.times):
            mb = base * (1 + 0.08 * (t % period) / period) + r.gauss(0, base * 0.01)
            mb += 90 if self._after(i, service) else 0
            out.append(float(round(mb * 1024 * 1024)))
        return out

    # ------------------------------------------------------------------- deploys

    def _deploys(self, service: str) -> None:
        points = self.tl.points
        ds = sorted((d for d in self.sc.deploys if d.service == service), key=lambda d: -d.ago)
        runs = [(*VERSIONS[service], 0)]
        runs += [(d.version, d.revision, self.tl.index_after(d.ago)) for d in ds]
        for k, (version, revision, first) in enumerate(runs):
            end = runs[k + 1][2] if k + 1 < len(runs) else points
            values: list[float | None] = [1.0 if first <= i < end else None for i in range(points)]
            labels = app_labels(service, version=version, revision=revision)
            self._add("app_build_info", labels, values, True)
        increments = [0.0] * points
        for *_, first in runs[1:]:
            increments[first] = 1.0
        before = rng(self.seed, "deploy-tracker", service).randrange(80, 300)
        labels = (("job", "deploy-tracker"), ("service", service))
        self._add(
            "deployments_total", labels, list(cumulate(increments, before, frozenset())), True
        )
        for d in ds:
            ms = (self.tl.clock - int(d.ago.total_seconds())) * 1000
            port = PORTS[service]
            self._log(ms - 800, service, "info", f'version={d.previous} msg="draining connections"')
            text = f'version={d.version} revision={d.revision} msg="starting {service}"'
            self._log(ms + 1200, service, "info", text)
            if service == self.sc.latency_regression.service:
                text = 'flag=fraud_check_sync value=true msg="feature flag enabled"'
                self._log(ms + 1250, service, "info", text)
            self._log(ms + 1900, service, "info", f'addr=:{port} msg="listening"')

    # --------------------------------------------------------------- filesystems

    def _fs(self, service: str, mountpoint: str, device: str) -> Labels:
        return (
            ("device", device),
            ("fstype", "ext4"),
            ("instance", f"{service}-0:9100"),
            ("job", "node"),
            ("mountpoint", mountpoint),
            ("service", service),
        )

    def _root_filesystem(self, service: str) -> None:
        """Every host's / : a few GiB of slowly growing logs, nowhere near full."""
        r = rng(self.seed, "rootfs", service)
        size = 100 * GIB
        used = r.uniform(0.25, 0.45) * size
        growth = r.uniform(0.5, 3.0) * 1024**2 / 3600  # bytes/s
        labels = self._fs(service, "/", "/dev/nvme0n1p1")
        avail: list[float | None] = []
        for _ in range(self.tl.points):
            used += growth * self.tl.step + r.gauss(0, 2 * 1024**2)
            avail.append(float(round(size - used)))
        self._add("node_filesystem_size_bytes", labels, [float(size)] * self.tl.points, True)
        self._add("node_filesystem_avail_bytes", labels, avail, True)

    def _disk_fill(self) -> None:
        fill = self.sc.disk_fill
        r = rng(self.seed, "disk-fill")
        labels = self._fs(fill.service, fill.mountpoint, fill.device)
        avail: list[float | None] = []
        last_warn = -1
        for i, t in enumerate(self.times):
            ago = self.tl.ago(i)
            used = fill.used_ratio(ago) + r.gauss(0, 0.0003)
            avail.append(float(round(fill.size_bytes * (1 - used))))
            if used >= 0.8 and (last_warn < 0 or ago % 600 == 0):
                last_warn = i
                self._log(
                    t * 1000,
                    fill.service,
                    "warn",
                    f"mountpoint={fill.mountpoint} used_percent={used * 100:.1f} "
                    'msg="disk usage high"',
                )
        points = self.tl.points
        self._add("node_filesystem_size_bytes", labels, [float(fill.size_bytes)] * points, True)
        self._add("node_filesystem_avail_bytes", labels, avail, True)
