"""Provider limits for the whole cluster, in one Ray actor.

Every node's trials reach the model through `ClusterGate`s, which ask the run's single
`Coordinator` actor (on the driver's node) for the breaker's answer and a rate slot, then
wait locally, cancellably. So the minimum interval, the rate limit per window and the
circuit breaker hold across all nodes, as they hold across threads of one process
(`opsbench.providers.limits`), and the judge's calls pass the same gates.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from opsbench.failures import InfraError
from opsbench.models.provider import ProviderSettings
from opsbench.providers.limits import (
    BreakerPoll,
    BreakerState,
    CallOutcome,
    GateFactory,
    GateRegistry,
    Permit,
    ProviderGate,
    sleep_cancellable,
)

_ASK_EVERY = 1.0
"""Longest a caller waits on an open breaker before asking the actor again (seconds)."""


class Coordinator:
    """The state one run shares across the cluster: the real provider gates.

    Made a Ray actor by the executor (`ray.remote(Coordinator)`); its methods never block,
    so one thread serves every node."""

    def __init__(self) -> None:
        self._gates = GateRegistry()

    def poll_breaker(self, provider: str, settings: ProviderSettings) -> BreakerPoll:
        return self._gates.gate(provider, settings).poll_breaker()

    def reserve(self, provider: str, settings: ProviderSettings) -> float:
        return self._gates.gate(provider, settings).reserve_delay()

    def record(
        self, provider: str, settings: ProviderSettings, permit: Permit, outcome: CallOutcome
    ) -> None:
        self._gates.gate(provider, settings).record(permit, outcome)

    def defer(self, provider: str, settings: ProviderSettings, seconds: float) -> None:
        self._gates.gate(provider, settings).defer(seconds)

    def state(self, provider: str, settings: ProviderSettings) -> BreakerState:
        return self._gates.gate(provider, settings).state


class ClusterGate(ProviderGate):
    """A provider's gate whose state lives in the run's `Coordinator` actor."""

    def __init__(self, name: str, settings: ProviderSettings, coordinator: Any) -> None:
        super().__init__(name, settings)
        self.coordinator = coordinator

    def _ask(self, method: str, *args: Any) -> Any:
        import ray

        return ray.get(getattr(self.coordinator, method).remote(self.name, self.settings, *args))

    @property
    def state(self) -> BreakerState:
        state: BreakerState = self._ask("state")
        return state

    def acquire(self, cancelled: threading.Event | None = None) -> Permit:
        t0 = time.monotonic()
        while True:
            poll: BreakerPoll = self._ask("poll_breaker")
            if poll.passed:
                break
            sleep_cancellable(min(poll.wait, _ASK_EVERY), cancelled)
        try:
            sleep_cancellable(self._ask("reserve"), cancelled)
        except BaseException:
            if poll.probe:
                self.record(Permit(probe=True, waited_sec=0), CallOutcome.NEUTRAL)
            raise
        return Permit(probe=poll.probe, waited_sec=time.monotonic() - t0)

    def record(self, permit: Permit, outcome: CallOutcome) -> None:
        self._ask("record", permit, outcome)

    def defer(self, seconds: float) -> None:
        self._ask("defer", seconds)


def cluster_gates(coordinator: Callable[[], Any]) -> GateFactory:
    """A gate factory for `GateRegistry.use_factory`: every gate asks the coordinator
    `coordinator()` returns when the gate is made (at a provider's first call)."""

    def factory(name: str, settings: ProviderSettings) -> ProviderGate:
        handle = coordinator()
        if handle is None:
            raise InfraError(f"a call to {name} on a Ray node without the run's coordinator")
        return ClusterGate(name, settings, handle)

    return factory
