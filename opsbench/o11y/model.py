"""What the generators produce: series of samples and log entries. Data only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from opsbench.o11y.timeline import Timeline

Labels = tuple[tuple[str, str], ...]


@dataclass
class Series:
    """One time series: a value per sample of the timeline, None where it does not exist.

    `integer` series (counters of events) are written without a decimal point.
    """

    name: str
    labels: Labels
    values: Sequence[float | None]
    integer: bool = False

    def label(self, key: str) -> str:
        return dict(self.labels)[key]


@dataclass(frozen=True)
class LogEntry:
    ts_ms: int
    service: str
    level: str
    text: str
    """logfmt fields after `level=` and `service=`, e.g. `request_id=... msg="..."`."""


@dataclass
class Telemetry:
    timeline: Timeline
    series: list[Series] = field(default_factory=list)
    logs: list[LogEntry] = field(default_factory=list)

    def find(self, name: str, **labels: str) -> list[Series]:
        """Series named `name` whose labels include `labels` (tests and sanity checks)."""
        want = set(labels.items())
        return [s for s in self.series if s.name == name and want <= set(s.labels)]
