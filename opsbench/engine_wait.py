"""The executor's side of engine outages: stop launching, wait, resume or give up.

A trial launched while the engine is down fails at once as `infra_error`; a dozen of them
teach nothing and churn the queue. So before each launch the executor asks `EngineGate`:
normally that is free (no request), but once this process has seen the engine fail (an
exec's `EngineUnavailable`, or a trial ending `infra_error`) it pings first, and while the
engine does not answer it waits with backoff, saying so, until it does (launching resumes)
or `OPSBENCH_ENGINE_WAIT_SEC` (default 900) has passed. Giving up launches nothing more:
the trials not started stay in the plan, and a rerun picks them up.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from opsbench.models.result import Outcome
from opsbench.runtime import engine

log = logging.getLogger(__name__)

DEFAULT_WAIT_SEC = 900.0


def wait_limit() -> float:
    try:
        return float(os.environ.get("OPSBENCH_ENGINE_WAIT_SEC", DEFAULT_WAIT_SEC))
    except ValueError:
        return DEFAULT_WAIT_SEC


class EngineGate:
    def __init__(self, say: Callable[[str], None], limit_sec: float | None = None) -> None:
        self.say = say  # the display's message line
        self.limit = wait_limit() if limit_sec is None else limit_sec
        self.gave_up = False

    def saw(self, outcome: Outcome) -> None:
        """A trial ended: an infrastructure failure makes the next launch check the engine."""
        if outcome == Outcome.INFRA_ERROR:
            engine.watch.suspect = True

    def may_launch(self, cancel: threading.Event) -> bool:
        """True when the engine is (believed) up; waits while it is down; False to stop."""
        if self.gave_up:
            return False
        if not engine.watch.suspect or engine.reachable():
            return True
        self.say(
            f"the Docker engine is unreachable: launching no new trials; waiting up to "
            f"{self.limit:g}s for it"
        )
        deadline = time.monotonic() + self.limit
        delay = 1.0
        while not cancel.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                self.gave_up = True
                self.say(
                    f"the Docker engine did not come back within {self.limit:g}s: "
                    "stopping; trials not started stay queued for a rerun"
                )
                return False
            cancel.wait(min(delay, left))
            delay = min(delay * 2, 30.0)
            if engine.reachable():
                self.say("the Docker engine is back: launching again")
                return True
            self.say(f"still waiting for the Docker engine ({left:.0f}s left)")
        return False
