"""Per-provider limits shared by concurrent trials: breaker, rate limit, interval, pause file.

Spacing is measured on the server's recorded arrival times, as a provider would see it.
"""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import pytest

from opsbench.failures import Cancelled, ProviderError
from opsbench.models.provider import FailurePause, ProviderSettings, RateLimit
from opsbench.models.result import UsageCounters
from opsbench.providers import GateRegistry, ModelClient
from opsbench.providers.limits import BreakerState
from tests.fakes.openai_server import FakeOpenAIServer, error_reply, text_reply

HELLO = [{"role": "user", "content": "hello"}]
TOLERANCE = 0.08
"""How far one arrival may drift from its reserved start: connection set-up, and on a
loaded 2-core machine the scheduler (a thread woken at its slot may run 70 ms late). Far
below every interval asserted: without the limits, concurrent calls arrive within ~10 ms."""


def in_threads(n: int, target: object) -> list[BaseException]:
    """Run `target()` in `n` threads at once; the exceptions they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(n)

    def run() -> None:
        start.wait()
        try:
            target()  # type: ignore[operator]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return errors


def test_breaker_opens_after_k_failures_pauses_then_probes(
    openai_server: FakeOpenAIServer, fast: ProviderSettings, registry: GateRegistry
) -> None:
    settings = fast.model_copy(
        update={"failure_pause": FailurePause(failures=2, seconds=0.4), "max_retries": 5}
    )
    # two failures open it; the first probe fails (reopen); the second probe succeeds
    openai_server.push(error_reply(500), error_reply(500), error_reply(500), text_reply("up"))
    llm = ModelClient("openai/gpt-4o", settings=settings, registry=registry)

    assert llm.complete(HELLO).content == "up"

    t = openai_server.arrival_times()
    assert len(t) == 4
    assert t[1] - t[0] < 0.3, "before K failures, only the short backoff"
    assert t[2] - t[1] >= 0.4 - TOLERANCE, "the probe waited out the pause"
    assert t[3] - t[2] >= 0.4 - TOLERANCE, "a failed probe re-opened the breaker"
    assert llm.gate.trips == 2
    assert llm.gate.state == BreakerState.CLOSED


def test_open_breaker_holds_other_trials_and_lets_one_probe_through(
    openai_server: FakeOpenAIServer, fast: ProviderSettings, registry: GateRegistry
) -> None:
    settings = fast.model_copy(
        update={"failure_pause": FailurePause(failures=2, seconds=0.4), "max_retries": 1}
    )
    openai_server.push(error_reply(500), error_reply(500))
    with pytest.raises(ProviderError):
        ModelClient("openai/gpt-4o", settings=settings, registry=registry).complete(HELLO)
    opened = time.monotonic()
    # the probe answers slowly: while it is in flight nobody else may start
    openai_server.push(text_reply("probe ok", delay=0.3), text_reply("a"), text_reply("b"))

    def trial() -> None:
        ModelClient("openai/gpt-4o", settings=settings, registry=registry).complete(HELLO)

    assert in_threads(3, trial) == []

    t = sorted(openai_server.arrival_times()[2:])
    assert len(t) == 3
    assert t[0] >= opened + 0.4 - TOLERANCE - 0.05, "nobody started while the breaker was open"
    assert t[1] >= t[0] + 0.3 - TOLERANCE, "others waited for the probe's verdict"


def test_min_interval_holds_across_concurrent_trials(
    openai_server: FakeOpenAIServer, fast: ProviderSettings, registry: GateRegistry
) -> None:
    settings = fast.model_copy(update={"min_request_interval": 0.3})
    openai_server.push(*[text_reply("ok") for _ in range(6)])

    def trial() -> None:
        ModelClient("openai/gpt-4o", settings=settings, registry=registry).complete(HELLO)

    assert in_threads(6, trial) == []

    t = sorted(openai_server.arrival_times())
    gaps = [b - a for a, b in itertools.pairwise(t)]
    assert len(t) == 6
    assert min(gaps) >= 0.3 - TOLERANCE, gaps


def test_rate_limit_window_holds_across_concurrent_trials(
    openai_server: FakeOpenAIServer, fast: ProviderSettings, registry: GateRegistry
) -> None:
    settings = fast.model_copy(update={"rate_limit": RateLimit.model_validate("3/0.5")})
    openai_server.push(*[text_reply("ok") for _ in range(7)])

    def trial() -> None:
        ModelClient("openai/gpt-4o", settings=settings, registry=registry).complete(HELLO)

    assert in_threads(7, trial) == []

    t = sorted(openai_server.arrival_times())
    assert len(t) == 7
    # no 4 starts inside any 0.5 s window
    spans = [t[i + 3] - t[i] for i in range(len(t) - 3)]
    assert min(spans) >= 0.5 - TOLERANCE, spans
    # but 3 may go at once: the limit does not also space them out
    assert t[2] - t[0] < 0.2


def test_limits_are_per_provider(fast: ProviderSettings) -> None:
    registry = GateRegistry()
    settings = fast.model_copy(update={"min_request_interval": 10})
    openai_gate = registry.gate("openai", settings)
    other_gate = registry.gate("anthropic", settings)

    t0 = time.monotonic()
    openai_gate.acquire()
    other_gate.acquire()  # a different provider: no 10 s wait
    assert time.monotonic() - t0 < 1
    assert registry.gate("openai", settings) is openai_gate


def test_pause_file_blocks_calls_until_removed(
    openai_server: FakeOpenAIServer, fast: ProviderSettings, registry: GateRegistry, tmp_path: Path
) -> None:
    pause = tmp_path / "PAUSE"
    pause.touch()
    settings = fast.model_copy(update={"pause_file": pause, "pause_poll_interval": 0.05})
    openai_server.push(text_reply("resumed"))
    answers: list[str] = []
    worker = threading.Thread(
        target=lambda: answers.append(
            ModelClient("openai/gpt-4o", settings=settings, registry=registry)
            .complete(HELLO)
            .content
        )
    )
    worker.start()
    time.sleep(0.5)
    assert openai_server.requests == [], "a call started while the pause file existed"
    assert worker.is_alive()

    removed = time.monotonic()
    pause.unlink()
    worker.join(timeout=10)

    assert answers == ["resumed"]
    assert openai_server.arrival_times()[0] >= removed


def test_cancel_releases_a_call_waiting_on_the_pause_file(
    openai_server: FakeOpenAIServer, fast: ProviderSettings, registry: GateRegistry, tmp_path: Path
) -> None:
    pause = tmp_path / "PAUSE"
    pause.touch()
    settings = fast.model_copy(update={"pause_file": pause, "pause_poll_interval": 0.05})
    cancelled = threading.Event()
    usage = UsageCounters()
    llm = ModelClient(
        "openai/gpt-4o", settings=settings, registry=registry, cancelled=cancelled, usage=usage
    )
    threading.Timer(0.3, cancelled.set).start()

    with pytest.raises(Cancelled):
        llm.complete(HELLO)

    assert openai_server.requests == []
    assert usage.provider_wait_sec >= 0.3 - TOLERANCE


def test_retry_after_holds_every_trial_of_the_provider(
    openai_server: FakeOpenAIServer, fast: ProviderSettings, registry: GateRegistry
) -> None:
    openai_server.push(error_reply(429, "slow down", retry_after=0.6))
    openai_server.push(*[text_reply("ok") for _ in range(3)])
    first = ModelClient("openai/gpt-4o", settings=fast, registry=registry)
    worker = threading.Thread(target=lambda: first.complete(HELLO))
    worker.start()
    while not openai_server.requests:
        time.sleep(0.01)
    time.sleep(0.1)  # the 429 has been answered; another trial now calls

    ModelClient("openai/gpt-4o", settings=fast, registry=registry).complete(HELLO)
    worker.join(timeout=10)

    t = openai_server.arrival_times()
    assert len(t) == 3
    assert min(t[1:]) >= t[0] + 0.6 - TOLERANCE, "another trial called during Retry-After"
