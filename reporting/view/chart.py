"""Geometry of a trend chart: pass rate per job with its interval band, and mean reward.

Like `reporting.charts`, this only measures; `templates/view/_chart.html.j2` draws.
Jobs are spaced evenly in the order they ran (a run's date is in each point's title).
"""

from __future__ import annotations

from dataclasses import dataclass

from opsbench.store.trends import Trend, TrendPoint

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 12, 28


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    reward_y: float | None
    title: str
    job_id: int


@dataclass(frozen=True)
class TrendChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    line: str
    """SVG polyline points of the pass rate."""
    reward_line: str
    band: str
    """SVG polygon points of the 95% interval of the pass rate."""
    points: list[ChartPoint]
    y_ticks: list[tuple[float, str]]
    first_label: str
    last_label: str


def _label(p: TrendPoint) -> str:
    return p.when.strftime("%Y-%m-%d") if p.when else p.scenario_time[:10]


def trend_chart(trend: Trend, last: int = 60) -> TrendChart | None:
    """The chart of a trend's last `last` scored points, or None when none is scored."""
    points = [p for p in trend.points if p.pass_rate is not None][-last:]
    if not points:
        return None
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(points) - 1)

    def x(i: int) -> float:
        return round(LEFT + (i * step if len(points) > 1 else plot_w / 2), 1)

    def y(v: float) -> float:
        return round(TOP + (1 - v) * plot_h, 1)

    drawn, upper, lower = [], [], []
    for i, p in enumerate(points):
        rate = p.pass_rate or 0.0
        ci = p.pass_ci
        title = (
            f"{p.job} · {_label(p)}: pass rate {rate * 100:.1f}% "
            f"({p.passed}/{p.scored})"
            + (f" [{ci.low * 100:.0f}–{ci.high * 100:.0f}]" if ci else "")
            + (f", reward {p.reward:.3f}" if p.reward is not None else "")
        )
        drawn.append(
            ChartPoint(
                x(i), y(rate), y(p.reward) if p.reward is not None else None, title, p.job_id
            )
        )
        upper.append(f"{x(i)},{y(ci.high if ci else rate)}")
        lower.append(f"{x(i)},{y(ci.low if ci else rate)}")
    return TrendChart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        bottom=HEIGHT - BOTTOM,
        line=" ".join(f"{p.x},{p.y}" for p in drawn),
        reward_line=" ".join(f"{p.x},{p.reward_y}" for p in drawn if p.reward_y is not None),
        band=" ".join(upper + lower[::-1]),
        points=drawn,
        y_ticks=[(y(f), f"{round(f * 100)}%") for f in (0, 0.25, 0.5, 0.75, 1)],
        first_label=_label(points[0]),
        last_label=_label(points[-1]),
    )
