"""Per-trial usage counters, tool calls in answers, settings, and the lazy LiteLLM import."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from opsbench.models.provider import FailurePause, ProviderSettings, RateLimit
from opsbench.models.result import UsageCounters
from opsbench.providers import ErrorKind, GateRegistry, ModelClient, classify_error
from opsbench.providers.llm import load_litellm
from tests.fakes.openai_server import (
    FakeOpenAIServer,
    error_reply,
    slow_reply,
    text_reply,
    tool_reply,
)

HELLO = [{"role": "user", "content": "hello"}]


def test_tokens_and_cost_accumulate_from_the_local_cost_map(
    openai_server: FakeOpenAIServer, fast: ProviderSettings, registry: GateRegistry
) -> None:
    openai_server.push(error_reply(500))
    openai_server.push(text_reply("one", prompt_tokens=1000, completion_tokens=200))
    openai_server.push(slow_reply(0.3, text_reply("two", prompt_tokens=500, completion_tokens=50)))
    usage = UsageCounters()
    llm = ModelClient("openai/gpt-4o", settings=fast, usage=usage, registry=registry)

    first = llm.complete(HELLO)
    llm.complete(HELLO)

    price = load_litellm().model_cost["gpt-4o"]
    expected = (1500 * price["input_cost_per_token"]) + (250 * price["output_cost_per_token"])
    assert usage.calls == 2
    assert usage.retries == 1
    assert usage.errors == {"server_error": 1}
    assert (usage.input_tokens, usage.output_tokens) == (1500, 250)
    assert usage.cost_usd == pytest.approx(expected)
    assert first.cost_usd == pytest.approx(
        1000 * price["input_cost_per_token"] + 200 * price["output_cost_per_token"]
    )
    assert usage.provider_wait_sec >= 0.3
    # the counters are what result.json stores
    assert UsageCounters.model_validate_json(usage.model_dump_json()) == usage


def test_a_model_without_a_price_costs_zero_but_counts_tokens(
    openai_server: FakeOpenAIServer, fast: ProviderSettings, registry: GateRegistry
) -> None:
    openai_server.push(text_reply("hi", prompt_tokens=70, completion_tokens=30))
    usage = UsageCounters()

    ModelClient("openai/my-local-model", settings=fast, usage=usage, registry=registry).complete(
        HELLO
    )

    assert (usage.input_tokens, usage.output_tokens, usage.cost_usd) == (70, 30, 0.0)


def test_tool_calls_come_back_raw_even_when_malformed(
    openai_server: FakeOpenAIServer, fast: ProviderSettings, registry: GateRegistry
) -> None:
    openai_server.push(tool_reply("run_shell", '{"command": "ls', call_id="call_x"))
    tools = [
        {
            "type": "function",
            "function": {
                "name": "run_shell",
                "description": "run",
                "parameters": {"type": "object", "properties": {"command": {"type": "string"}}},
            },
        }
    ]

    answer = ModelClient("openai/gpt-4o", settings=fast, registry=registry).complete(
        HELLO, tools=tools
    )

    assert [(c.id, c.name, c.arguments) for c in answer.tool_calls] == [
        ("call_x", "run_shell", '{"command": "ls')
    ]
    assert openai_server.requests[0].body["tools"] == tools
    assert answer.assistant_message()["tool_calls"][0]["function"]["arguments"] == '{"command": "ls'


def test_missing_credentials_are_not_retried() -> None:
    litellm = load_litellm()
    exc = litellm.InternalServerError(
        message="OpenAIException - Missing credentials. Please pass an `api_key`",
        llm_provider="openai",
        model="gpt-4o",
    )
    error = classify_error(exc)
    assert error is not None
    assert error.kind == ErrorKind.AUTH
    assert not error.retryable
    assert error.provider_fault
    assert classify_error(ValueError("a bug of ours")) is None


def test_settings_accept_short_strings_and_round_trip_as_json() -> None:
    settings = ProviderSettings.model_validate(
        {"rate_limit": "50/60", "failure_pause": "3/120", "max_retries": "4"}
    )
    assert settings.rate_limit == RateLimit(calls=50, window_seconds=60)
    assert settings.failure_pause == FailurePause(failures=3, seconds=120)
    assert settings.max_retries == 4
    again = ProviderSettings.model_validate(json.loads(settings.model_dump_json()))
    assert again == settings

    with pytest.raises(ValidationError, match="N/seconds"):
        ProviderSettings.model_validate({"rate_limit": "fast"})
    with pytest.raises(ValidationError, match="extra"):
        ProviderSettings.model_validate({"max_retry": 3})


def test_defaults_suit_paid_apis() -> None:
    settings = ProviderSettings()
    assert settings.max_retries >= 3
    assert settings.min_request_interval > 0
    assert settings.rate_limit is not None
    assert settings.failure_pause is not None
    assert settings.pause_file is None


def test_importing_the_provider_layer_does_not_import_litellm() -> None:
    code = (
        "import sys, opsbench.providers, opsbench.models.provider, agents.sre_agent, "
        "agents.baselines; print('litellm' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ),
    )
    assert out.stdout.strip() == "False"
