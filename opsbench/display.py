"""One display layer: what a run tells the person watching it.

Core modules report events here (a message, a warning, a trial started or finished)
instead of printing. The command picks one display per run with `make_display`: a rich
live status line in a terminal, plain lines in CI and pipes, or quiet (no per-trial
lines, only messages and the final tally). Tests pass a `RecordingDisplay`.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opsbench.models.result import Outcome, TrialResult


@dataclass
class Tally:
    """Counts of a run so far: done, running, outcomes, passes, and an ETA."""

    total: int = 0
    done: int = 0
    running: int = 0
    passed: int = 0
    graded: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    start: float = field(default_factory=time.monotonic)

    def finished(self, result: TrialResult) -> None:
        self.running = max(0, self.running - 1)
        self.done += 1
        self.counts[result.outcome.value] += 1
        if result.outcome == Outcome.GRADED and result.rewards:
            self.graded += 1
            self.passed += int(result.rewards.passed)

    def eta(self) -> float:
        elapsed = time.monotonic() - self.start
        return elapsed / self.done * (self.total - self.done) if self.done else 0.0

    def headline(self) -> str:
        """done / running / not graded by outcome, pass rate so far, ETA."""
        others = {k: n for k, n in sorted(self.counts.items()) if k != Outcome.GRADED}
        detail = ", ".join(f"{n} {k}" for k, n in others.items())
        rate = f"{self.passed}/{self.graded} passed" if self.graded else "none graded yet"
        return (
            f"{self.done}/{self.total} done, {self.running} running"
            + (f", {detail}" if detail else "")
            + f" · {rate} · ETA {self.eta():.0f}s"
        )

    def summary(self) -> str:
        parts = [f"{n} {k}" for k, n in sorted(self.counts.items())]
        return ", ".join(parts) or "nothing ran"


def verdict_text(result: TrialResult) -> str:
    text = result.outcome.value
    if result.rewards is not None:
        text += f" reward={result.rewards.reward:.2f}"
        text += " PASS" if result.rewards.passed else " fail"
    return text


class Display:
    """Plain lines on stdout (CI, pipes); the base every display shares."""

    show_trials = True

    def __init__(self) -> None:
        self.tally = Tally()
        self.show_job = False
        self._lock = threading.Lock()

    def message(self, text: str) -> None:
        print(text, flush=True)

    def warning(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    @contextmanager
    def run(self, total: int, show_job: bool = False) -> Iterator[Tally]:
        """Around a batch of trials: counts start afresh; yields the live tally."""
        self.tally = Tally(total=total)
        self.show_job = show_job
        yield self.tally

    def trial_started(self) -> None:
        with self._lock:
            self.tally.running += 1
            self.refresh()

    def trial_finished(self, result: TrialResult) -> None:
        with self._lock:
            self.tally.finished(result)
            if self.show_trials:
                self.trial_line(result)
            self.refresh()

    def label(self, result: TrialResult) -> str:
        return f"{result.job_name}/{result.trial_name}" if self.show_job else result.trial_name

    def trial_line(self, result: TrialResult) -> None:
        t = self.tally
        self.message(
            f"[{t.done}/{t.total}] {self.label(result)}: {verdict_text(result)} · {t.headline()}"
        )

    def refresh(self) -> None:
        """Redraw any live status (nothing for plain lines)."""


class QuietDisplay(Display):
    """Messages and the final tally only: no per-trial lines."""

    show_trials = False


class LiveDisplay(Display):
    """A rich live status line in a terminal, above coloured per-trial lines."""

    def __init__(self) -> None:
        super().__init__()
        from rich.console import Console

        self.console = Console()
        self.live: Any = None

    def message(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)

    def warning(self, text: str) -> None:
        self.console.print(f"[yellow]{_escape(text)}[/]")

    @contextmanager
    def run(self, total: int, show_job: bool = False) -> Iterator[Tally]:
        from rich.live import Live

        with super().run(total, show_job) as tally:
            self.live = Live(
                tally.headline(), console=self.console, refresh_per_second=4, transient=True
            )
            with self.live:
                yield tally
            self.live = None

    def trial_line(self, result: TrialResult) -> None:
        r = result.rewards
        style = (
            "green" if r and r.passed else ("red" if result.outcome == Outcome.GRADED else "yellow")
        )
        reward = f" reward={r.reward:.2f}" if r else ""
        self.console.print(
            f"[{style}]{_escape(self.label(result))}: {result.outcome.value}{reward}[/]"
        )

    def refresh(self) -> None:
        if self.live is not None:
            self.live.update(self.tally.headline())


class RecordingDisplay(Display):
    """Keeps every message and finished trial in memory (tests, embedding)."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []
        self.warnings: list[str] = []
        self.results: list[TrialResult] = []

    def message(self, text: str) -> None:
        self.messages.append(text)

    def warning(self, text: str) -> None:
        self.warnings.append(text)

    def trial_line(self, result: TrialResult) -> None:
        self.results.append(result)


def make_display(quiet: bool = False) -> Display:
    """Quiet when asked; rich live status in a terminal; plain lines otherwise."""
    if quiet:
        return QuietDisplay()
    if sys.stdout.isatty():
        return LiveDisplay()
    return Display()


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
