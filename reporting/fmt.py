"""How numbers read in the reports: one formatter per kind of quantity."""

from __future__ import annotations

from opsbench.metrics import Estimate, Proportion


def pct(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value * 100:.{digits}f}%"


def interval_text(est: Proportion | Estimate) -> str:
    """`[low–high]` in percent, or "" when there is no interval."""
    ci = est.interval
    if ci is None:
        return ""
    return f"[{ci.low * 100:.1f}–{ci.high * 100:.1f}]"


def money(value: float | None) -> str:
    if value is None:
        return "–"
    if value == 0:
        return "$0"
    if abs(value) < 0.01:
        return f"${value:.4f}"
    if abs(value) < 10:
        return f"${value:.3f}"
    return f"${value:,.2f}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def count(value: float | None) -> str:
    """Integers with thousands separators; large ones shortened (12.3k, 4.5M)."""
    if value is None:
        return "–"
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 10_000:
        return f"{value / 1_000:.1f}k"
    return f"{round(value):,}"


def reward(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def integer(value: int | None) -> str:
    """An exact count with thousands separators."""
    return "–" if value is None else f"{value:,}"
