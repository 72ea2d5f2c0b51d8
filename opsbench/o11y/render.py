"""Telemetry as files: OpenMetrics text for promtool, and one logfmt file per service.

OpenMetrics without `# TYPE` lines: promtool's backfill keeps no metadata, and leaving
types out lets each series' samples be written together in time order, which is what
`promtool tsdb create-blocks-from openmetrics` appends fastest. Timestamps are seconds.
"""

from __future__ import annotations

from opsbench.o11y.model import Series, Telemetry
from opsbench.o11y.scenario import SERVICES
from opsbench.o11y.timeline import iso_ms


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _head(series: Series) -> str:
    labels = ",".join(f'{k}="{_escape(v)}"' for k, v in series.labels)
    return f"{series.name}{{{labels}}}"


def _number(value: float, integer: bool) -> str:
    if integer:
        return str(round(value))
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def openmetrics(telemetry: Telemetry) -> bytes:
    times = [str(t) for t in telemetry.timeline.times]
    parts: list[str] = []
    for series in telemetry.series:
        head = _head(series)
        for t, v in zip(times, series.values, strict=True):
            if v is not None:
                parts.append(f"{head} {_number(v, series.integer)} {t}\n")
    parts.append("# EOF\n")
    return "".join(parts).encode()


def logs(telemetry: Telemetry) -> dict[str, bytes]:
    """`<service>.log` for every service, lines in time order (entries arrive sorted)."""
    lines: dict[str, list[str]] = {s: [] for s in SERVICES}
    for e in telemetry.logs:
        stamp = iso_ms(e.ts_ms)
        lines[e.service].append(f"{stamp} level={e.level} service={e.service} {e.text}\n")
    return {f"{s}.log": "".join(ls).encode() for s, ls in lines.items()}
