"""Run a job's planned trials with bounded concurrency, cancellation and a pause file.

Trials run in worker threads (each trial mostly waits on Docker and model calls). Ctrl-C
stops launching, cancels the in-flight trials (they tear down and record `cancelled`) and
the job exits 130; a second Ctrl-C forces. A pause file stops launching new trials; the
job exits cleanly when the in-flight ones finish and continues when rerun.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from opsbench.display import Display
from opsbench.models.result import TrialResult

log = logging.getLogger(__name__)

Item = TypeVar("Item")


@dataclass
class RunReport:
    results: list[TrialResult] = field(default_factory=list)
    paused: bool = False
    cancelled: bool = False
    not_started: int = 0
    engine_unavailable: bool = False


def run_all(
    items: list[Item],
    run_one: Callable[[Item, threading.Event], TrialResult],
    n_concurrent: int,
    cancel: threading.Event,
    pause_files: list[Path],
    display: Display,
) -> RunReport:
    from opsbench.engine_wait import EngineGate

    report, gate = RunReport(), EngineGate(display.message)
    queue = list(items)
    running: dict[Future[TrialResult], Any] = {}
    with ThreadPoolExecutor(max_workers=max(1, n_concurrent)) as pool:
        while queue or running:
            while queue and len(running) < n_concurrent and not cancel.is_set():
                paused = next((p for p in pause_files if p.exists()), None)
                if paused is not None:
                    if not report.paused:
                        display.message(f"pause file {paused} found: launching no new trials")
                    report.paused = True
                    break
                if not gate.may_launch(cancel):  # the engine is down: wait, or stop launching
                    report.engine_unavailable = True
                    break
                item = queue.pop(0)
                running[pool.submit(run_one, item, cancel)] = item
                display.trial_started()
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
                display.trial_finished(result)
    report.cancelled = cancel.is_set()
    report.not_started = len(queue)
    return report
