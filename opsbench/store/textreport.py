"""Plain-text lines for `opsbench trends`: trend tables and regression evidence."""

from __future__ import annotations

from opsbench.metrics import Interval
from opsbench.store.trends import RegressionReport, RegressionTest, Trend, TrendPoint


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _ci(ci: Interval | None, scale: float = 100.0, digits: int = 0) -> str:
    if ci is None:
        return ""
    return f"[{ci.low * scale:.{digits}f}–{ci.high * scale:.{digits}f}]"


def _when(p: TrendPoint) -> str:
    return p.when.strftime("%Y-%m-%d %H:%M") if p.when else p.scenario_time[:16].replace("T", " ")


def trend_lines(trend: Trend, last: int) -> list[str]:
    points = trend.points[-last:] if last > 0 else trend.points
    shown = f", last {len(points)}" if len(points) < len(trend.points) else ""
    lines = [f"variant {trend.variant}: {len(trend.points)} jobs{shown}"]
    width = max((len(p.job) for p in points), default=3)
    lines.append(
        f"  {'when':16}  {'job':{width}}  {'scored':>6}  {'pass rate [95% CI]':22}  "
        f"{'reward [95% CI]':18}  excluded"
    )
    for p in points:
        rate = f"{_pct(p.pass_rate)} {_ci(p.pass_ci)}"
        reward = "–" if p.reward is None else f"{p.reward:.3f} {_ci(p.reward_ci, 1.0, 2)}"
        lines.append(
            f"  {_when(p):16}  {p.job:{width}}  {p.scored:>6}  {rate:22}  {reward:18}  {p.excluded}"
        )
    return lines


def regression_header(report: RegressionReport) -> str:
    return (
        f"regressions: {len(report.flagged)} flagged of {len(report.tests)} task x variant "
        f"tests (one-sided Fisher's exact, Holm-adjusted, alpha {report.alpha:g}; "
        f"last {report.recent} jobs against up to {report.baseline} before them)"
    )


def regression_line(t: RegressionTest) -> str:
    mark = "REGRESSION" if t.flagged else "ok"
    return (
        f"  {mark} {t.variant} · {t.task_id}: baseline {t.baseline.passes}/{t.baseline.runs} "
        f"passed over {t.baseline.jobs} jobs ({_pct(t.baseline.rate)}) → recent "
        f"{t.recent.passes}/{t.recent.runs} over {t.recent.jobs} jobs ({_pct(t.recent.rate)}); "
        f"p = {t.p_value:.2g}, adjusted p = {t.adjusted:.2g}"
    )
