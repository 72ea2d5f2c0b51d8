"""The sample grid and the deterministic randomness every generator shares.

Samples sit every `step` seconds and end exactly at the scenario clock, so an instant
query at the clock always finds fresh data. Sample i stands for the interval
(t[i-1], t[i]]: counters add what happened in it, log lines fall inside it.

Randomness comes from `random.Random` seeded with a string built from the seed and the
series' name; string seeds hash with SHA-512 (not Python's salted `hash`), so output is
identical across processes and machines.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


def clock_seconds(clock: datetime) -> int:
    """The scenario clock as whole unix seconds (a naive datetime counts as UTC)."""
    if clock.tzinfo is None:
        clock = clock.replace(tzinfo=UTC)
    return math.floor(clock.timestamp())


@dataclass(frozen=True)
class Timeline:
    clock: int
    """Unix seconds of the last sample."""
    step: int
    points: int

    @classmethod
    def build(cls, clock: datetime, history: timedelta, step: timedelta) -> Timeline:
        step_s = int(step.total_seconds())
        return cls(clock_seconds(clock), step_s, int(history.total_seconds()) // step_s + 1)

    @property
    def times(self) -> list[int]:
        """Unix seconds of every sample, oldest first."""
        return [self.clock - (self.points - 1 - i) * self.step for i in range(self.points)]

    def ago(self, i: int) -> int:
        """Seconds from sample i to the clock."""
        return (self.points - 1 - i) * self.step

    def index_after(self, ago: timedelta) -> int:
        """The first sample whose interval lies after the instant `ago` before the clock."""
        return self.points - int(ago.total_seconds()) // self.step


def rng(seed: int, *parts: str) -> random.Random:
    return random.Random(f"{seed}|" + "|".join(parts))


def poisson(r: random.Random, lam: float) -> int:
    """A Poisson draw (exact for small means, normal approximation for large ones)."""
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, round(r.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, r.random()
    while p > limit:
        k += 1
        p *= r.random()
    return k


def binomial(r: random.Random, n: int, p: float) -> int:
    """A binomial draw, clipped to [0, n]."""
    if n <= 0 or p <= 0:
        return 0
    if p >= 1:
        return n
    mean = n * p
    if mean < 20:
        return min(n, poisson(r, mean))
    return min(n, max(0, round(r.gauss(mean, math.sqrt(mean * (1 - p))))))


def diurnal(t: int) -> float:
    """Traffic relative to the daily peak: lowest at 04:00 UTC, highest at 16:00 UTC."""
    hour = (t % 86400) / 3600
    return 0.65 - 0.35 * math.cos(2 * math.pi * (hour - 4) / 24)


def lognormal_cdf(x: float, median: float, sigma: float) -> float:
    if x <= 0:
        return 0.0
    return 0.5 * (1 + math.erf(math.log(x / median) / (sigma * math.sqrt(2))))


def cumulate(increments: list[float], start: float, resets: frozenset[int]) -> list[float]:
    """Counter values from per-interval increments; the process restarts at each reset."""
    out, total = [], start
    for i, inc in enumerate(increments):
        total = inc if i in resets else total + inc
        out.append(total)
    return out


def iso_ms(ms: int) -> str:
    """Log timestamp: RFC 3339 UTC with milliseconds, fixed width (sorts as text)."""
    when = datetime.fromtimestamp(ms // 1000, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
