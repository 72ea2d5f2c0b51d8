"""What a trial knows while it runs: config, paths, its runtime and environment, its log,
phase timings, its outcome."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from opsbench.failures import TrialFailure, classify
from opsbench.models.result import ExceptionInfo, Outcome, PhaseTiming, Rewards, UsageCounters
from opsbench.models.spec import TaskSpec
from opsbench.models.trial import TrialConfig
from opsbench.models.verdict import DiagnosticsVerdict
from opsbench.paths import TaskPaths, TrialPaths
from opsbench.runtime.base import Runtime, TrialEnvironment

log = logging.getLogger(__name__)


@dataclass
class TrialState:
    config: TrialConfig
    paths: TrialPaths
    task: TaskPaths
    spec: TaskSpec
    cancel: threading.Event
    runtime: Runtime
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    phases: dict[str, PhaseTiming] = field(default_factory=dict)
    outcome: Outcome | None = None
    exception: ExceptionInfo | None = None
    rewards: Rewards | None = None
    diagnostics: DiagnosticsVerdict | None = None
    usage: UsageCounters = field(default_factory=UsageCounters)
    env: TrialEnvironment | None = None
    image: str = ""

    def log(self, message: str) -> None:
        stamp = datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3]
        try:  # a trial log that cannot be written (its dir moved away) must not stop a trial
            with self.paths.log.open("a", encoding="utf-8") as fh:
                fh.write(f"{stamp} {message}\n")
        except OSError as exc:
            log.warning("%s: %s (%s)", self.config.trial_name, message, exc)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a phase; an exception escaping it decides the outcome (first one wins)."""
        timing = PhaseTiming(started_at=datetime.now(UTC))
        self.phases[name] = timing
        t0 = time.monotonic()
        self.log(f"phase {name}: start")
        try:
            yield
        except BaseException as exc:
            timing.ok = False
            self.fail(exc, name)
            raise
        else:
            timing.ok = True
        finally:
            timing.finished_at = datetime.now(UTC)
            timing.seconds = round(time.monotonic() - t0, 3)
            self.log(f"phase {name}: {'ok' if timing.ok else 'failed'} in {timing.seconds}s")

    def fail(self, exc: BaseException, phase: str) -> None:
        if self.outcome is not None:
            return
        self.outcome = classify(exc, phase)
        detail = getattr(exc, "log_text", "")
        if detail:
            self.log(f"--- {phase} output ---\n{detail}\n--- end ---")
        self.exception = ExceptionInfo(
            type=type(exc).__name__,
            message=str(exc) or type(exc).__name__,
            phase=phase,
            traceback="" if isinstance(exc, TrialFailure) else traceback.format_exc()[-4000:],
        )
        self.log(f"{phase} failed → {self.outcome}: {type(exc).__name__}: {exc}")

    def check_cancel(self) -> None:
        from opsbench.failures import Cancelled

        if self.cancel.is_set():
            raise Cancelled("cancelled before the phase started")
