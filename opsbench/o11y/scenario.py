"""The scenario's ground truth: the one place that says what happened to the fictional shop.

Everything the `o11y` sidecar serves (metrics and logs) is generated from these values,
and task specs, graders and tests read them from here rather than repeating numbers.
Times are offsets before the scenario clock (`ago`), so the same story plays out at any
clock; `at(clock)` turns an offset into an instant. The seed only changes noise and
request ids, never the story.

The story (environment/sidecar/README.md tells it at length):
- payments starts failing `POST /charge` with 503s 20 minutes before the clock, because
  its upstream card-processor times out; checkout retries once, so only some failures
  surface as 502s in checkout and gateway. Ongoing at the clock.
- checkout v2.8.0, deployed 2h30m before the clock, made the fraud check synchronous:
  p99 latency of `POST /checkout` rises about fourfold; errors do not. Ongoing.
- cache-replica-1 lagged behind the cache primary for 90 minutes (7h to 5h30m before the
  clock) during a full resync, then caught up by itself. Over.
- the db data volume fills steadily since WAL archiving started failing 18h before the
  clock; at the clock it is 93% full and fills up a few hours later. Ongoing risk.
- orders is noisy but harmless: bursty traffic, many 404s and 429s, spiky CPU, chatty
  warnings, yet no more 5xx than anyone else.
- deploys of gateway (with a two-minute 503 blip), orders and payments are distractors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

SERVICES: tuple[str, ...] = ("gateway", "checkout", "payments", "orders", "cache", "db")
HTTP_SERVICES: tuple[str, ...] = ("gateway", "checkout", "payments", "orders")


def at(clock: datetime, ago: timedelta) -> datetime:
    """The instant `ago` before `clock`."""
    return clock - ago


@dataclass(frozen=True)
class Deploy:
    """A rollout: the process restarts (counters reset) and `app_build_info` changes."""

    service: str
    previous: str
    version: str
    revision: str
    ago: timedelta
    note: str

    def at(self, clock: datetime) -> datetime:
        return at(clock, self.ago)


@dataclass(frozen=True)
class ErrorSpike:
    service: str
    route: str
    status: int
    ago: timedelta
    """When failures start; they ramp to `failure_ratio` within `ramp` and go on."""
    ramp: timedelta
    failure_ratio: float
    upstream: str
    cause: str
    surfaces_in: tuple[str, ...]
    """Services that return 502s because of it (after checkout's single retry)."""

    def start(self, clock: datetime) -> datetime:
        return at(clock, self.ago)


@dataclass(frozen=True)
class LatencyRegression:
    service: str
    route: str
    version: str
    """The deploy that caused it; see `Scenario.deploy(service, version)`."""
    ago: timedelta
    median_before_s: float
    median_after_s: float
    sigma_before: float
    sigma_after: float
    cause: str

    def start(self, clock: datetime) -> datetime:
        return at(clock, self.ago)


@dataclass(frozen=True)
class CacheLag:
    service: str
    replica: str
    start_ago: timedelta
    peak_ago: timedelta
    end_ago: timedelta
    peak_lag_seconds: float
    normal_lag_seconds: float
    hit_ratio_normal: float
    hit_ratio_during: float
    cause: str


@dataclass(frozen=True)
class DiskFill:
    service: str
    mountpoint: str
    device: str
    size_bytes: int
    start_ago: timedelta
    """WAL archiving fails from here on; before, usage is flat at `used_ratio_before`."""
    used_ratio_before: float
    used_ratio_at_clock: float
    cause: str

    @property
    def fill_rate_ratio_per_second(self) -> float:
        return (self.used_ratio_at_clock - self.used_ratio_before) / self.start_ago.total_seconds()

    @property
    def full_in(self) -> timedelta:
        """How long after the clock the volume is full if nothing changes."""
        left = 1.0 - self.used_ratio_at_clock
        return timedelta(seconds=round(left / self.fill_rate_ratio_per_second))

    def used_ratio(self, ago_seconds: float) -> float:
        """The used share of the volume `ago_seconds` before the clock (noise-free)."""
        if ago_seconds >= self.start_ago.total_seconds():
            return self.used_ratio_before
        return self.used_ratio_at_clock - self.fill_rate_ratio_per_second * ago_seconds


@dataclass(frozen=True)
class NoisyService:
    service: str
    why_harmless: str


@dataclass(frozen=True)
class Scenario:
    services: tuple[str, ...]
    history: timedelta
    """How far before the clock the data starts (a little over 24h, so 24h ranges fill)."""
    step: timedelta
    """Sample interval: the scrape interval the synthetic history pretends to have."""
    error_spike: ErrorSpike
    latency_regression: LatencyRegression
    cache_lag: CacheLag
    disk_fill: DiskFill
    noisy: NoisyService
    deploys: tuple[Deploy, ...]
    blip: tuple[str, timedelta, timedelta, float]
    """(service, start ago, duration, 503 ratio): the brief 503s of gateway's rollout."""

    def deploy(self, service: str, version: str) -> Deploy:
        for d in self.deploys:
            if d.service == service and d.version == version:
                return d
        raise KeyError(f"no deploy of {service} {version}")


SCENARIO = Scenario(
    services=SERVICES,
    history=timedelta(hours=25),
    step=timedelta(seconds=30),
    error_spike=ErrorSpike(
        service="payments",
        route="/charge",
        status=503,
        ago=timedelta(minutes=20),
        ramp=timedelta(minutes=2),
        failure_ratio=0.4,
        upstream="card-processor",
        cause="the upstream card-processor times out (5000 ms) on 40% of charges",
        surfaces_in=("checkout", "gateway"),
    ),
    latency_regression=LatencyRegression(
        service="checkout",
        route="/checkout",
        version="2.8.0",
        ago=timedelta(hours=2, minutes=30),
        median_before_s=0.12,
        median_after_s=0.34,
        sigma_before=0.35,
        sigma_after=0.45,
        cause="checkout 2.8.0 enabled the fraud_check_sync feature flag (synchronous fraud check)",
    ),
    cache_lag=CacheLag(
        service="cache",
        replica="cache-replica-1",
        start_ago=timedelta(hours=7),
        peak_ago=timedelta(hours=6, minutes=15),
        end_ago=timedelta(hours=5, minutes=30),
        peak_lag_seconds=45.0,
        normal_lag_seconds=0.15,
        hit_ratio_normal=0.94,
        hit_ratio_during=0.78,
        cause="cache-replica-1 lost its link to the primary and did a full resync; it recovered",
    ),
    disk_fill=DiskFill(
        service="db",
        mountpoint="/var/lib/postgresql",
        device="/dev/nvme1n1",
        size_bytes=500 * 1024**3,
        start_ago=timedelta(hours=18),
        used_ratio_before=0.55,
        used_ratio_at_clock=0.93,
        cause="WAL archiving fails (archive destination unreachable), so WAL segments pile up",
    ),
    noisy=NoisyService(
        service="orders",
        why_harmless="its 404s and 429s are clients polling unknown orders and being rate "
        "limited; 5xx and latency stay at baseline",
    ),
    deploys=(
        Deploy(
            "gateway",
            "1.14.1",
            "1.14.2",
            "3f9c2e1",
            timedelta(hours=14),
            "routine release; a two-minute 503 blip during the rollout",
        ),
        Deploy("orders", "3.1.7", "3.2.0", "a71d0b4", timedelta(hours=9), "harmless"),
        Deploy(
            "payments",
            "4.0.9",
            "4.1.0",
            "c0ffee7",
            timedelta(hours=5),
            "harmless; hours before payments' errors start",
        ),
        Deploy(
            "checkout",
            "2.7.3",
            "2.8.0",
            "9b2d4aa",
            timedelta(hours=2, minutes=30),
            "causes the latency regression",
        ),
    ),
    blip=("gateway", timedelta(hours=14), timedelta(minutes=2), 0.05),
)
