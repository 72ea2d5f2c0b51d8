"""Retries, backoff, Retry-After and error classification, over real HTTP."""

from __future__ import annotations

import threading
import time

import pytest

from opsbench.failures import Cancelled, ProviderError, TrialFailure, classify
from opsbench.models.provider import ProviderSettings
from opsbench.models.result import Outcome, UsageCounters
from opsbench.providers import (
    ContextLengthExceeded,
    GateRegistry,
    ModelClient,
    ProviderCallFailed,
)
from tests.fakes.openai_server import (
    FakeOpenAIServer,
    error_reply,
    slow_reply,
    text_reply,
)

HELLO = [{"role": "user", "content": "hello"}]


def client(
    settings: ProviderSettings, registry: GateRegistry, usage: UsageCounters | None = None
) -> ModelClient:
    return ModelClient("openai/gpt-4o", settings=settings, usage=usage, registry=registry)


def test_retries_within_the_budget_are_invisible_to_the_caller(
    openai_server: FakeOpenAIServer, fast: ProviderSettings, registry: GateRegistry
) -> None:
    openai_server.push(
        error_reply(500), error_reply(429, error_type="rate_limit_exceeded"), error_reply(503)
    )
    openai_server.push(text_reply("all good"))
    usage = UsageCounters()

    answer = client(fast, registry, usage).complete(HELLO)

    assert answer.content == "all good"
    assert len(openai_server.requests) == 4
    assert usage.calls == 1
    assert usage.retries == 3
    assert usage.errors == {"server_error": 2, "rate_limit": 1}


def test_failures_beyond_the_budget_raise_provider_error(
    openai_server: FakeOpenAIServer, fast: ProviderSettings, registry: GateRegistry
) -> None:
    openai_server.push(*[error_reply(502, "bad gateway") for _ in range(10)])
    usage = UsageCounters()

    with pytest.raises(ProviderError) as caught:
        client(fast, registry, usage).complete(HELLO)

    assert len(openai_server.requests) == fast.max_retries + 1
    assert classify(caught.value, "agent") == Outcome.PROVIDER_ERROR
    assert isinstance(caught.value, ProviderCallFailed)
    assert caught.value.attempts == fast.max_retries + 1
    assert usage.errors == {"server_error": fast.max_retries + 1}


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (
            error_reply(401, "Incorrect API key provided", error_type="invalid_request_error"),
            "auth",
        ),
        (error_reply(403, "forbidden", error_type="permission_error"), "auth"),
        (
            error_reply(404, "The model does not exist", error_type="invalid_request_error"),
            "not_found",
        ),
        (
            error_reply(400, "Unrecognized request argument", error_type="invalid_request_error"),
            "bad_request",
        ),
    ],
)
def test_non_retryable_provider_errors_are_not_retried(
    openai_server: FakeOpenAIServer,
    fast: ProviderSettings,
    registry: GateRegistry,
    reply: object,
    kind: str,
) -> None:
    openai_server.push(reply, text_reply("never reached"))  # type: ignore[arg-type]
    usage = UsageCounters()

    with pytest.raises(ProviderCallFailed) as caught:
        client(fast, registry, usage).complete(HELLO)

    assert len(openai_server.requests) == 1
    assert caught.value.kind == kind
    assert usage.retries == 0
    assert usage.errors == {kind: 1}


def test_context_overflow_is_the_agents_not_a_provider_error(
    openai_server: FakeOpenAIServer, fast: ProviderSettings, registry: GateRegistry
) -> None:
    openai_server.push(
        error_reply(
            400,
            "This model's maximum context length is 128000 tokens. However, your messages "
            "resulted in 190000 tokens.",
            error_type="invalid_request_error",
            code="context_length_exceeded",
        )
    )
    with pytest.raises(ContextLengthExceeded) as caught:
        client(fast, registry).complete(HELLO)

    # Not a TrialFailure: escaping the agent, the runtime charges it to the agent.
    assert not isinstance(caught.value, TrialFailure)
    assert len(openai_server.requests) == 1


def test_retry_after_is_honoured(
    openai_server: FakeOpenAIServer, fast: ProviderSettings, registry: GateRegistry
) -> None:
    openai_server.push(error_reply(429, "slow down", retry_after=0.7), text_reply("ok"))
    openai_server.push(error_reply(429, "slow down"), text_reply("ok"))
    llm = client(fast, registry)

    llm.complete(HELLO)
    llm.complete(HELLO)

    t = openai_server.arrival_times()
    assert t[1] - t[0] >= 0.7 - 0.02, "the retry came before Retry-After"
    assert t[3] - t[2] < 0.5, "without Retry-After the backoff is the short configured one"


def test_a_slow_response_times_out_and_is_retried(
    openai_server: FakeOpenAIServer, fast: ProviderSettings, registry: GateRegistry
) -> None:
    settings = fast.model_copy(update={"request_timeout": 0.3})
    openai_server.push(slow_reply(3), text_reply("in time"))
    usage = UsageCounters()

    t0 = time.monotonic()
    answer = client(settings, registry, usage).complete(HELLO)

    assert answer.content == "in time"
    assert time.monotonic() - t0 < 2.5
    assert usage.errors == {"timeout": 1}
    assert usage.retries == 1


def test_cancel_interrupts_a_backoff(
    openai_server: FakeOpenAIServer, fast: ProviderSettings, registry: GateRegistry
) -> None:
    openai_server.push(error_reply(429, "slow down", retry_after=30), text_reply("late"))
    cancelled = threading.Event()
    llm = ModelClient("openai/gpt-4o", settings=fast, registry=registry, cancelled=cancelled)
    threading.Timer(0.3, cancelled.set).start()

    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        llm.complete(HELLO)

    assert time.monotonic() - t0 < 3
    assert len(openai_server.requests) == 1
