"""`ModelClient`: one model, called through LiteLLM with every limit of the provider layer.

A call (`complete`) waits while the pause file exists, passes the provider's gate
(circuit breaker, minimum interval, rate limit; see `opsbench.providers.limits`), then
calls `litellm.completion` with the SDK's own retries off. Failures are classified
(`opsbench.providers.errors`); retryable ones are retried by **tenacity** with exponential
backoff and full jitter (`wait_random_exponential`), never shorter than the server's
Retry-After (capped by `retry_after_max`). Tenacity is a dependency already, is well kept,
and gives exactly this — stop after N attempts, a pluggable wait and sleep (ours is
cancellable) and hooks to count retries — so no hand-written retry loop is needed.

Usage of every call lands in the caller's `UsageCounters`: calls, retries, errors by kind,
tokens, cost (LiteLLM's local cost map; 0 when the model has no price) and the wall time
spent waiting on the provider (gates, backoff and the HTTP calls themselves).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from opsbench.models.provider import ProviderSettings
from opsbench.models.result import UsageCounters
from opsbench.providers.errors import ErrorClass, ProviderConfigError, classify_error, escalate
from opsbench.providers.limits import (
    CallOutcome,
    GateRegistry,
    default_registry,
    sleep_cancellable,
    wait_while_paused,
)
from opsbench.providers.llm import load_litellm, provider_of
from opsbench.providers.reasoning import reasoning_params

_usage_lock = threading.Lock()


@dataclass(frozen=True)
class ToolCallRequest:
    """A tool call as the model sent it; `arguments` is raw JSON text (maybe malformed)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Completion:
    """One model answer and what it cost."""

    model: str
    content: str
    tool_calls: list[ToolCallRequest]
    finish_reason: str | None
    reasoning_content: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    thinking_blocks: list[dict[str, Any]] = field(default_factory=list)

    def assistant_message(self) -> dict[str, Any]:
        """The message to append to the conversation before the tool results."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content or None}
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in self.tool_calls
            ]
        if self.thinking_blocks:
            message["thinking_blocks"] = self.thinking_blocks
        return message


class ModelClient:
    """Calls one model with the provider layer's retries, limits and accounting.

    `usage` is the trial's counters (filled in place); `cancelled` interrupts every wait.
    Raises `UnsupportedReasoningEffort` at construction when the effort cannot be honoured.
    """

    def __init__(
        self,
        model: str,
        *,
        reasoning_effort: str = "off",
        settings: ProviderSettings | None = None,
        usage: UsageCounters | None = None,
        cancelled: threading.Event | None = None,
        registry: GateRegistry | None = None,
    ) -> None:
        self.model = model
        self.reasoning_effort = reasoning_effort
        self.settings = settings or ProviderSettings()
        self.usage = usage if usage is not None else UsageCounters()
        self.cancelled = cancelled
        self.provider = provider_of(model)
        self.api_base = self.settings.api_base or _env_api_base(self.provider)
        self.gate = (registry or default_registry()).gate(self.provider, self.settings)
        self.reasoning = reasoning_params(
            model, reasoning_effort, api_base=self.api_base, settings=self.settings
        )

    def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        **params: Any,
    ) -> Completion:
        """One chat completion. Extra `params` (max_tokens, temperature, tool_choice, …)
        go to `litellm.completion`. Raises `ProviderCallFailed` (a `ProviderError`),
        `ContextLengthExceeded`/`ModelRequestRejected`, or `Cancelled`."""
        kwargs = self._kwargs(messages, tools, params)
        with _usage_lock:
            self.usage.calls += 1
        t0 = time.monotonic()
        try:
            response = self._call_with_retries(kwargs)
        finally:
            with _usage_lock:
                self.usage.provider_wait_sec += time.monotonic() - t0
        return self._record(response)

    # ------------------------------------------------------------------ internals

    def _kwargs(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, params: Any
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "timeout": self.settings.request_timeout,
            "max_retries": 0,  # the OpenAI/Anthropic SDKs must not retry behind our back
            **self.reasoning,
            **params,
        }
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if tools:
            kwargs["tools"] = tools
            if importlib.util.find_spec("mcp") is None:
                # LiteLLM imports its MCP bridge (which needs the optional `mcp` package)
                # whenever tools are passed; ours are plain functions, so skip it.
                kwargs["_skip_mcp_handler"] = True
        thinking = kwargs.get("thinking")
        if isinstance(thinking, dict) and "budget_tokens" in thinking:
            floor = int(thinking["budget_tokens"]) + 4096
            kwargs["max_tokens"] = max(int(kwargs.get("max_tokens") or 0), floor)
        return kwargs

    def _call_with_retries(self, kwargs: dict[str, Any]) -> Any:
        retrying = Retrying(
            stop=stop_after_attempt(self.settings.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(_is_retryable),
            sleep=lambda seconds: sleep_cancellable(seconds, self.cancelled),
            before_sleep=self._count_retry,
            reraise=True,
        )
        attempts = 0
        try:
            for attempt in retrying:
                with attempt:
                    attempts += 1
                    return self._attempt(kwargs)
        except Exception as exc:
            error = classify_error(exc)
            if error is None:
                raise
            raise escalate(exc, error, provider=self.provider, attempts=attempts) from exc
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _attempt(self, kwargs: dict[str, Any]) -> Any:
        wait_while_paused(self.settings, self.cancelled)
        permit = self.gate.acquire(self.cancelled)
        try:
            response = load_litellm().completion(**kwargs)
        except Exception as exc:
            error = classify_error(exc)
            outcome = (
                CallOutcome.FAILURE
                if error is not None and error.retryable
                else CallOutcome.NEUTRAL
            )
            self.gate.record(permit, outcome)
            if error is not None and error.retry_after is not None:
                self.gate.defer(min(error.retry_after, self.settings.retry_after_max))
            if error is not None:
                with _usage_lock:
                    key = error.kind.value
                    self.usage.errors[key] = self.usage.errors.get(key, 0) + 1
            raise
        except BaseException:
            self.gate.record(permit, CallOutcome.NEUTRAL)
            raise
        self.gate.record(permit, CallOutcome.SUCCESS)
        return response

    def _wait(self, state: RetryCallState) -> float:
        backoff = wait_random_exponential(
            multiplier=self.settings.backoff_initial, max=self.settings.backoff_max
        )(state)
        exc = state.outcome.exception() if state.outcome else None
        error = classify_error(exc) if exc is not None else None
        if error is not None and error.retry_after is not None:
            return max(backoff, min(error.retry_after, self.settings.retry_after_max))
        return float(backoff)

    def _count_retry(self, state: RetryCallState) -> None:
        with _usage_lock:
            self.usage.retries += 1

    def _record(self, response: Any) -> Completion:
        completion = _to_completion(response, self.model)
        cost = _cost(response, self.model, completion)
        with _usage_lock:
            self.usage.input_tokens += completion.prompt_tokens
            self.usage.output_tokens += completion.completion_tokens
            self.usage.cost_usd += cost
        return dataclasses.replace(completion, cost_usd=cost)


def _is_retryable(exc: BaseException) -> bool:
    error: ErrorClass | None = classify_error(exc)
    return error is not None and error.retryable


def _env_api_base(provider: str) -> str | None:
    if provider != "openai":
        return None
    return os.environ.get("OPENAI_API_BASE") or os.environ.get("OPENAI_BASE_URL") or None


def _to_completion(response: Any, model: str) -> Completion:
    choice = response.choices[0]
    message = choice.message
    calls = [
        ToolCallRequest(
            id=str(call.id or f"call_{i}"),
            name=str(call.function.name or ""),
            arguments=str(call.function.arguments or ""),
        )
        for i, call in enumerate(getattr(message, "tool_calls", None) or [])
    ]
    usage = getattr(response, "usage", None)
    details = getattr(usage, "prompt_tokens_details", None)
    blocks = getattr(message, "thinking_blocks", None) or []
    return Completion(
        model=str(getattr(response, "model", None) or model),
        content=str(message.content or ""),
        tool_calls=calls,
        finish_reason=getattr(choice, "finish_reason", None),
        reasoning_content=getattr(message, "reasoning_content", None) or None,
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        cached_tokens=int(getattr(details, "cached_tokens", 0) or 0),
        thinking_blocks=[dict(b) for b in blocks],
    )


def _cost(response: Any, model: str, completion: Completion) -> float:
    """Price from LiteLLM's local cost map: the answering model, else the requested one."""
    litellm = load_litellm()
    try:
        return float(litellm.completion_cost(completion_response=response) or 0.0)
    except Exception:
        pass
    try:
        prompt, output = litellm.cost_per_token(
            model=model,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
        )
        return float(prompt) + float(output)
    except Exception:
        return 0.0


def check_model(
    model: str | None, reasoning_effort: str = "off", settings: ProviderSettings | None = None
) -> None:
    """Fail early (at planning) when a model/effort pair cannot run: no model, an effort the
    model cannot honour. Raises `ProviderConfigError`; calls no model."""
    if not model:
        raise ProviderConfigError("a model is needed (provider/name)")
    settings = settings or ProviderSettings()
    api_base = settings.api_base or _env_api_base(provider_of(model))
    reasoning_params(model, reasoning_effort, api_base=api_base, settings=settings)
