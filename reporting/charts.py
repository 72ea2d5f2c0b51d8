"""Geometry for the reports' inline SVG charts. Templates draw; this module only measures.

Coordinates are computed here as plain numbers and handed to the Jinja2 macros in
`templates/_charts.html.j2`, so no markup is built in Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from opsbench.metrics import Estimate, Proportion
from reporting.fmt import interval_text, money, pct


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True)
class Bar:
    label: str
    y: float
    width: float
    low: float | None
    high: float | None
    text: str
    title: str


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars of rates in [0, 1] with interval whiskers."""

    width: int
    height: int
    plot_x: int
    plot_w: int
    row_h: int
    bars: list[Bar]
    ticks: list[Tick]
    title: str


def bar_chart(
    title: str, rows: list[tuple[str, Proportion | Estimate]], *, width: int = 680
) -> BarChart:
    label_w, value_w, row_h, top = 170, 120, 30, 8
    plot_w = width - label_w - value_w
    bars = []
    for i, (label, est) in enumerate(rows):
        value = est.value
        ci = est.interval
        bars.append(
            Bar(
                label=label,
                y=top + i * row_h,
                width=round((value or 0.0) * plot_w, 1),
                low=round(label_w + ci.low * plot_w, 1) if ci else None,
                high=round(label_w + ci.high * plot_w, 1) if ci else None,
                text=pct(value),
                title=f"{label}: {pct(value)} {interval_text(est)} (n={est.n})",
            )
        )
    ticks = [
        Tick(round(label_w + f * plot_w, 1), f"{round(f * 100)}%") for f in (0, 0.25, 0.5, 0.75, 1)
    ]
    height = top + len(rows) * row_h + 24
    return BarChart(width, height, label_w, plot_w, row_h, bars, ticks, title)


@dataclass(frozen=True)
class Segment:
    key: str
    label: str
    count: int
    x: float
    width: float


@dataclass(frozen=True)
class StackedBar:
    width: int
    segments: list[Segment]
    total: int


def stacked_bar(parts: list[tuple[str, str, int]], *, width: int = 680) -> StackedBar:
    """One bar split by count; `parts` are (key, label, count)."""
    total = sum(c for _, _, c in parts)
    x = 0.0
    segments = []
    for key, label, count in parts:
        if not count:
            continue
        w = width * count / total
        segments.append(Segment(key, label, count, round(x, 2), round(w, 2)))
        x += w
    return StackedBar(width, segments, total)


@dataclass(frozen=True)
class Point:
    label: str
    x: float
    y: float
    y_low: float | None
    y_high: float | None
    title: str
    href: str
    label_dx: float


@dataclass
class Scatter:
    width: int
    height: int
    left: int
    top: int
    plot_w: int
    plot_h: int
    x_title: str
    y_title: str
    points: list[Point] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)


@dataclass(frozen=True)
class ScatterInput:
    label: str
    x: float
    rate: Proportion
    href: str


def nice_ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 up to at least `high`."""
    if high <= 0:
        return [0.0, 1.0]
    raw = high / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    n = math.ceil(high / step - 1e-9)
    return [round(i * step, 10) for i in range(n + 1)]


def scatter(points: list[ScatterInput], *, x_title: str, y_title: str) -> Scatter:
    width, height, left, top, right, bottom = 680, 380, 64, 16, 150, 48
    chart = Scatter(
        width, height, left, top, width - left - right, height - top - bottom, x_title, y_title
    )
    xs = nice_ticks(max((p.x for p in points), default=0.0) * 1.05)
    x_max = xs[-1] or 1.0
    chart.x_ticks = [Tick(round(left + v / x_max * chart.plot_w, 1), money(v)) for v in xs]

    def y_of(v: float) -> float:
        return round(top + (1 - v) * chart.plot_h, 1)

    chart.y_ticks = [Tick(y_of(f), f"{round(f * 100)}%") for f in (0, 0.25, 0.5, 0.75, 1)]
    for p in points:
        ci = p.rate.interval
        px = round(left + p.x / x_max * chart.plot_w, 1)
        chart.points.append(
            Point(
                label=p.label,
                x=px,
                y=y_of(p.rate.value or 0.0),
                y_low=y_of(ci.low) if ci else None,
                y_high=y_of(ci.high) if ci else None,
                title=f"{p.label}: {pct(p.rate.value)} {interval_text(p.rate)}, {money(p.x)} per trial",
                href=p.href,
                label_dx=8.0,
            )
        )
    return chart


def heat_colour(value: float | None) -> str:
    """A restrained sequential scale (pale grey-blue to deep blue); None is blank."""
    if value is None:
        return "transparent"
    lo, hi = (241, 244, 248), (29, 78, 137)
    t = max(0.0, min(1.0, value))
    r, g, b = (round(a + (c - a) * t) for a, c in zip(lo, hi, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def heat_ink(value: float | None) -> str:
    return "light" if value is not None and value >= 0.55 else "dark"
