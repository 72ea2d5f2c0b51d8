"""Run a job's planned trials with bounded concurrency, cancellation and a pause file.

Trials run in worker threads (each trial mostly waits on Docker and model calls). Ctrl-C
stops launching, cancels the in-flight trials (they tear down and record `cancelled`) and
the job exits 130; a second Ctrl-C forces. A pause file stops launching new trials; the
job exits cleanly when the in-flight ones finish and continues when rerun.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from opsbench.models.result import Outcome, TrialResult

log = logging.getLogger(__name__)

TrialFn = Callable[[str, int, threading.Event], TrialResult]


@dataclass
class RunReport:
    results: list[TrialResult] = field(default_factory=list)
    paused: bool = False
    cancelled: bool = False
    not_started: int = 0


class Progress:
    """Plain progress lines (CI-friendly); `quiet` prints only the final tally."""

    def __init__(self, total: int, quiet: bool = False) -> None:
        self.total = total
        self.quiet = quiet
        self.done = 0
        self.counts: Counter[str] = Counter()
        self.passed = 0
        self.graded = 0
        self.start = time.monotonic()
        self._lock = threading.Lock()

    def finished(self, result: TrialResult) -> None:
        with self._lock:
            self.done += 1
            self.counts[result.outcome.value] += 1
            if result.outcome == Outcome.GRADED and result.rewards:
                self.graded += 1
                self.passed += int(result.rewards.passed)
            if self.quiet:
                return
            elapsed = time.monotonic() - self.start
            eta = elapsed / self.done * (self.total - self.done)
            verdict = result.outcome.value
            if result.rewards is not None:
                verdict += f" reward={result.rewards.reward:.2f}"
                verdict += " PASS" if result.rewards.passed else " fail"
            rate = f"{self.passed}/{self.graded} passed" if self.graded else "none graded yet"
            print(
                f"[{self.done}/{self.total}] {result.trial_name}: {verdict} · {rate} · "
                f"ETA {eta:.0f}s",
                flush=True,
            )

    def tally(self) -> str:
        parts = [f"{n} {k}" for k, n in sorted(self.counts.items())]
        return ", ".join(parts) or "nothing ran"


def run_all(
    trials: list[tuple[str, int]],
    run_one: TrialFn,
    n_concurrent: int,
    cancel: threading.Event,
    pause_file: Path,
    progress: Progress,
) -> RunReport:
    report = RunReport()
    queue = list(trials)
    running: dict[Future[TrialResult], tuple[str, int]] = {}
    with ThreadPoolExecutor(max_workers=max(1, n_concurrent)) as pool:
        while queue or running:
            while queue and len(running) < n_concurrent and not cancel.is_set():
                if pause_file.exists():
                    if not report.paused:
                        print(f"pause file {pause_file} found: launching no new trials", flush=True)
                    report.paused = True
                    break
                task_id, attempt = queue.pop(0)
                running[pool.submit(run_one, task_id, attempt, cancel)] = (task_id, attempt)
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
                progress.finished(result)
    report.cancelled = cancel.is_set()
    report.not_started = len(queue)
    return report
