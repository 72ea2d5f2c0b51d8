"""Per-provider gates shared by every trial thread: pause file, circuit breaker, rate limit.

Before each attempt a call waits while the pause file exists (`wait_while_paused`: while
`settings.pause_file` exists nothing starts), then passes its provider's `ProviderGate`:

1. **circuit breaker** — after `failure_pause.failures` consecutive failed attempts the
   provider is *open*: every call waits `failure_pause.seconds`, then exactly one call
   goes through as a *probe*; its success closes the breaker, its failure opens it again;
2. **rate limit** — each attempt reserves a start time at least `min_request_interval`
   after the previous reservation and such that no more than `rate_limit.calls` starts
   fall in any `rate_limit.window_seconds`; the caller sleeps until its slot. Reserving
   under a lock (rather than check-then-sleep) keeps threads from stampeding a freed slot.
   A server's Retry-After (`defer`) holds every slot of the provider until it has passed.

Every wait watches the caller's cancel event and raises `opsbench.failures.Cancelled`.

No rate-limiting library is a dependency of the project, and the gates share one
cancellable wait, so this is a small hand-written module; retries and backoff, where a
well-kept library fits exactly, use tenacity (see `opsbench.providers.client`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from opsbench.failures import Cancelled
from opsbench.models.provider import ProviderSettings

log = logging.getLogger(__name__)

_POLL = 0.05
"""Longest a gate sleeps without looking at the cancel event (seconds)."""


def sleep_cancellable(seconds: float, cancelled: threading.Event | None) -> None:
    """Sleep, or raise `Cancelled` as soon as `cancelled` is set."""
    if seconds <= 0:
        _check(cancelled)
        return
    if cancelled is None:
        time.sleep(seconds)
    elif cancelled.wait(seconds):
        raise Cancelled("model call cancelled")


def _check(cancelled: threading.Event | None) -> None:
    if cancelled is not None and cancelled.is_set():
        raise Cancelled("model call cancelled")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CallOutcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    NEUTRAL = "neutral"
    """The provider answered, but the call failed for another reason (bad request)."""


@dataclass(frozen=True)
class BreakerPoll:
    """Whether a call may pass the breaker now (`probe`: as the one trial call), or how
    long to wait before asking again."""

    passed: bool
    probe: bool = False
    wait: float = 0.0


@dataclass(frozen=True)
class Permit:
    """Leave to make one attempt; hand it back with `ProviderGate.record`."""

    probe: bool
    waited_sec: float


class ProviderGate:
    """The limits of one provider (`openai`, `anthropic`, …) for the whole process."""

    def __init__(self, name: str, settings: ProviderSettings) -> None:
        self.name = name
        self.settings = settings
        self._cond = threading.Condition()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._open_until = 0.0
        self.trips = 0
        """How many times the breaker opened (for logs and tests)."""
        self._slot_lock = threading.Lock()
        self._last_start = float("-inf")
        self._not_before = float("-inf")
        limit = settings.rate_limit
        self._starts: deque[float] = deque(maxlen=limit.calls if limit else 1)

    @property
    def state(self) -> BreakerState:
        with self._cond:
            return self._state

    def acquire(self, cancelled: threading.Event | None = None) -> Permit:
        """Block until this attempt may start: breaker, then rate slot."""
        t0 = time.monotonic()
        probe = self._pass_breaker(cancelled)
        try:
            slot = self._reserve_slot()
            sleep_cancellable(slot - time.monotonic(), cancelled)
        except BaseException:
            if probe:
                self.record(Permit(probe=True, waited_sec=0), CallOutcome.NEUTRAL)
            raise
        return Permit(probe=probe, waited_sec=time.monotonic() - t0)

    def record(self, permit: Permit, outcome: CallOutcome) -> None:
        """The result of an attempt: feeds the circuit breaker."""
        pause = self.settings.failure_pause
        if pause is None:
            return
        with self._cond:
            if outcome == CallOutcome.SUCCESS:
                self._state, self._failures = BreakerState.CLOSED, 0
            elif outcome == CallOutcome.FAILURE:
                self._failures += 1
                if permit.probe or self._failures >= pause.failures:
                    self._open(pause.seconds)
            elif permit.probe:
                # No verdict on the provider's health: let the next caller probe.
                self._state = BreakerState.OPEN
            self._cond.notify_all()

    def defer(self, seconds: float) -> None:
        """The provider asked for a pause (Retry-After): no attempt starts before it ends."""
        with self._slot_lock:
            self._not_before = max(self._not_before, time.monotonic() + seconds)

    def _open(self, seconds: float) -> None:
        self._state = BreakerState.OPEN
        self._open_until = time.monotonic() + seconds
        self._failures = 0
        self.trips += 1
        log.warning(
            "provider %s: circuit breaker open for %.1fs after repeated failures",
            self.name,
            seconds,
        )

    def _pass_breaker(self, cancelled: threading.Event | None) -> bool:
        """Wait while the breaker is open; True when this caller is the probe."""
        if self.settings.failure_pause is None:
            return False
        with self._cond:
            while True:
                _check(cancelled)
                poll = self._poll_locked()
                if poll.passed:
                    return poll.probe
                self._cond.wait(timeout=min(max(poll.wait, 0.001), _POLL))

    def poll_breaker(self) -> BreakerPoll:
        """The breaker's answer now, without waiting (for gates kept in another process,
        whose callers do the waiting themselves: `opsbench.cluster.limits`)."""
        if self.settings.failure_pause is None:
            return BreakerPoll(passed=True)
        with self._cond:
            return self._poll_locked()

    def _poll_locked(self) -> BreakerPoll:
        if self._state == BreakerState.CLOSED:
            return BreakerPoll(passed=True)
        now = time.monotonic()
        if self._state == BreakerState.OPEN and now >= self._open_until:
            self._state = BreakerState.HALF_OPEN
            return BreakerPoll(passed=True, probe=True)
        remaining = self._open_until - now if self._state == BreakerState.OPEN else _POLL
        return BreakerPoll(passed=False, wait=remaining)

    def reserve_delay(self) -> float:
        """Reserve a rate slot now; the seconds the caller must wait before starting."""
        return max(0.0, self._reserve_slot() - time.monotonic())

    def _reserve_slot(self) -> float:
        """The monotonic time at which this attempt may start (reserved now)."""
        interval = self.settings.min_request_interval
        limit = self.settings.rate_limit
        with self._slot_lock:
            slot = max(time.monotonic(), self._last_start + interval, self._not_before)
            if limit is not None and len(self._starts) == limit.calls:
                slot = max(slot, self._starts[0] + limit.window_seconds)
            self._starts.append(slot)
            self._last_start = slot
            return slot


def wait_while_paused(settings: ProviderSettings, cancelled: threading.Event | None) -> float:
    """Block while `settings.pause_file` exists; the seconds waited."""
    path = settings.pause_file
    if path is None or not path.exists():
        return 0.0
    t0 = time.monotonic()
    log.warning("model calls paused while %s exists", path)
    while path.exists():
        sleep_cancellable(settings.pause_poll_interval, cancelled)
    log.warning("pause file %s removed: model calls resume", path)
    return time.monotonic() - t0


def _limits(settings: ProviderSettings) -> tuple[object, ...]:
    return (settings.min_request_interval, settings.rate_limit, settings.failure_pause)


GateFactory = Callable[[str, ProviderSettings], ProviderGate]
"""Makes the gate of one provider: `ProviderGate` itself, or a proxy to gates kept
elsewhere (the Ray executor's cluster-wide gates)."""


class GateRegistry:
    """One gate per provider name; the process-wide registry is `default_registry()`."""

    def __init__(self, factory: GateFactory = ProviderGate) -> None:
        self._lock = threading.Lock()
        self._gates: dict[str, ProviderGate] = {}
        self._factory = factory

    def gate(self, provider: str, settings: ProviderSettings) -> ProviderGate:
        with self._lock:
            gate = self._gates.get(provider)
            if gate is None:
                gate = self._gates[provider] = self._factory(provider, settings)
            elif _limits(gate.settings) != _limits(settings):
                log.warning(
                    "provider %s already has limits from other settings; keeping those",
                    provider,
                )
            return gate

    def use_factory(self, factory: GateFactory) -> None:
        """Make new gates with `factory` from now on (forgetting the gates made so far)."""
        with self._lock:
            if factory is not self._factory:
                self._factory = factory
                self._gates.clear()

    def clear(self) -> None:
        with self._lock:
            self._gates.clear()


_DEFAULT = GateRegistry()


def default_registry() -> GateRegistry:
    return _DEFAULT
