"""Reasoning effort: what reaches the request body, and clear errors when unsupported."""

from __future__ import annotations

import pytest

from opsbench.errors import OpsbenchError
from opsbench.failures import ProviderError
from opsbench.models.provider import ProviderSettings
from opsbench.providers import (
    GateRegistry,
    ModelClient,
    UnsupportedReasoningEffort,
    check_model,
    reasoning_params,
)
from tests.fakes.openai_server import FakeOpenAIServer, text_reply

HELLO = [{"role": "user", "content": "hello"}]


@pytest.mark.parametrize(
    ("model", "effort", "sent"),
    [
        ("openai/o3-mini", "high", "high"),
        ("openai/o3-mini", "low", "low"),
        ("openai/gpt-5.1", "off", "none"),  # the map says reasoning can be switched off
        ("openai/my-local-model", "medium", "medium"),  # unknown: passed through
        ("openai/gpt-4o", "off", None),  # does not reason: nothing sent
    ],
)
def test_reasoning_effort_reaches_the_request_body(
    openai_server: FakeOpenAIServer,
    fast: ProviderSettings,
    registry: GateRegistry,
    model: str,
    effort: str,
    sent: str | None,
) -> None:
    openai_server.push(text_reply("ok"))

    ModelClient(model, reasoning_effort=effort, settings=fast, registry=registry).complete(HELLO)

    body = openai_server.requests[0].body
    assert body["model"] == model.split("/", 1)[1]
    assert body.get("reasoning_effort") == sent


@pytest.mark.parametrize(
    ("model", "effort", "words"),
    [
        ("openai/gpt-4o", "high", "does not support reasoning"),
        ("openai/o3-mini", "off", "always reasons"),
        ("openai/gpt-4o", "extreme", "unknown reasoning effort"),
    ],
)
def test_unsupported_effort_is_a_clear_error_before_any_call(
    openai_server: FakeOpenAIServer,
    fast: ProviderSettings,
    registry: GateRegistry,
    model: str,
    effort: str,
    words: str,
) -> None:
    with pytest.raises(UnsupportedReasoningEffort, match=words) as caught:
        ModelClient(model, reasoning_effort=effort, settings=fast, registry=registry)

    assert openai_server.requests == []
    # a user error at planning time; inside a trial, never a zero
    assert isinstance(caught.value, OpsbenchError)
    assert isinstance(caught.value, ProviderError)


def test_unknown_model_without_a_base_url_cannot_be_checked() -> None:
    with pytest.raises(UnsupportedReasoningEffort, match="not in LiteLLM's model map"):
        check_model("openai/no-such-model-xyz", "high", ProviderSettings())
    check_model("openai/no-such-model-xyz", "off", ProviderSettings())  # nothing to check


def test_base_url_from_the_environment_allows_pass_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_BASE", "http://127.0.0.1:9/v1")
    check_model("openai/no-such-model-xyz", "high", ProviderSettings())


def test_anthropic_gets_a_thinking_budget() -> None:
    settings = ProviderSettings(
        anthropic_thinking_budgets={"low": 1111, "medium": 2222, "high": 3333}
    )

    params = reasoning_params(
        "anthropic/claude-sonnet-4-5", "medium", api_base=None, settings=settings
    )
    off = reasoning_params("anthropic/claude-sonnet-4-5", "off", api_base=None, settings=settings)

    assert params == {"thinking": {"type": "enabled", "budget_tokens": 2222}}
    assert off == {}
