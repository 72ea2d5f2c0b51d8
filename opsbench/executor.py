"""Run a job's planned trials with bounded concurrency, cancellation and a pause file.

Trials run in worker threads (each trial mostly waits on Docker and model calls). Ctrl-C
stops launching, cancels the in-flight trials (they tear down and record `cancelled`) and
the job exits 130; a second Ctrl-C forces. A pause file stops launching new trials; the
job exits cleanly when the in-flight ones finish and continues when rerun.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from opsbench.models.result import Outcome, TrialResult

log = logging.getLogger(__name__)

Item = TypeVar("Item")


@dataclass
class RunReport:
    results: list[TrialResult] = field(default_factory=list)
    paused: bool = False
    cancelled: bool = False
    not_started: int = 0
    engine_unavailable: bool = False


class Progress:
    """Plain progress lines (CI-friendly); `quiet` prints only the final tally."""

    def __init__(self, total: int, quiet: bool = False, show_job: bool = False) -> None:
        self.total = total
        self.show_job = show_job
        self.quiet = quiet
        self.done = 0
        self.running = 0
        self.counts: Counter[str] = Counter()
        self.passed = 0
        self.graded = 0
        self.start = time.monotonic()
        self._lock = threading.Lock()

    def started(self) -> None:
        with self._lock:
            self.running += 1

    def finished(self, result: TrialResult) -> None:
        with self._lock:
            self.running = max(0, self.running - 1)
            self.done += 1
            self.counts[result.outcome.value] += 1
            if result.outcome == Outcome.GRADED and result.rewards:
                self.graded += 1
                self.passed += int(result.rewards.passed)
            if not self.quiet:
                self.show(result)

    def eta(self) -> float:
        elapsed = time.monotonic() - self.start
        return elapsed / self.done * (self.total - self.done) if self.done else 0.0

    def label(self, result: TrialResult) -> str:
        return f"{result.job_name}/{result.trial_name}" if self.show_job else result.trial_name

    def show(self, result: TrialResult) -> None:
        verdict = result.outcome.value
        if result.rewards is not None:
            verdict += f" reward={result.rewards.reward:.2f}"
            verdict += " PASS" if result.rewards.passed else " fail"
        print(
            f"[{self.done}/{self.total}] {result.trial_name}: {verdict} · {self.headline()}",
            flush=True,
        )

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

    def tally(self) -> str:
        parts = [f"{n} {k}" for k, n in sorted(self.counts.items())]
        return ", ".join(parts) or "nothing ran"


class LiveProgress(Progress):
    """A rich live status line in a terminal, above the per-trial lines."""

    def __init__(self, total: int, show_job: bool) -> None:
        super().__init__(total, show_job=show_job)
        from rich.console import Console
        from rich.live import Live

        self.console = Console()
        self.live = Live(
            self.headline(), console=self.console, refresh_per_second=4, transient=True
        )

    def show(self, result: TrialResult) -> None:
        style = (
            "green"
            if result.rewards and result.rewards.passed
            else ("red" if result.outcome == Outcome.GRADED else "yellow")
        )
        reward = f" reward={result.rewards.reward:.2f}" if result.rewards else ""
        self.console.print(f"[{style}]{self.label(result)}: {result.outcome.value}{reward}[/]")
        self.live.update(self.headline())

    def started(self) -> None:
        super().started()
        self.live.update(self.headline())


@contextmanager
def make_progress(total: int, quiet: bool, show_job: bool = False) -> Iterator[Progress]:
    """Rich live display in a terminal; plain lines when not a TTY; tally only if quiet."""
    if quiet or not sys.stdout.isatty():
        yield Progress(total, quiet, show_job)
        return
    live = LiveProgress(total, show_job)
    with live.live:
        yield live


def run_all(
    items: list[Item],
    run_one: Callable[[Item, threading.Event], TrialResult],
    n_concurrent: int,
    cancel: threading.Event,
    pause_files: list[Path],
    progress: Progress,
) -> RunReport:
    from opsbench.engine_wait import EngineGate

    report, gate = RunReport(), EngineGate()
    queue = list(items)
    running: dict[Future[TrialResult], Any] = {}
    with ThreadPoolExecutor(max_workers=max(1, n_concurrent)) as pool:
        while queue or running:
            while queue and len(running) < n_concurrent and not cancel.is_set():
                paused = next((p for p in pause_files if p.exists()), None)
                if paused is not None:
                    if not report.paused:
                        print(f"pause file {paused} found: launching no new trials", flush=True)
                    report.paused = True
                    break
                if not gate.may_launch(cancel):  # the engine is down: wait, or stop launching
                    report.engine_unavailable = True
                    break
                item = queue.pop(0)
                running[pool.submit(run_one, item, cancel)] = item
                progress.started()
            if not running:
                break
            done, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in done:
                running.pop(fut)
                try:
                    result = fut.result()
                except Exception:
                    log.exception("trial crashed outside its own error handling")
                    continue
                report.results.append(result)
                gate.saw(result.outcome)
                progress.finished(result)
    report.cancelled = cancel.is_set()
    report.not_started = len(queue)
    return report
