"""Provider settings: how hard opsbench may push a model API, saved in the job config.

One model holds every limit the provider layer (`opsbench.providers`) enforces: retries
and backoff, the minimum interval between calls, a rate limit per window, the circuit
breaker ("failure pause") and the pause file. Defaults suit paid APIs. Limits are shared
per provider (the `openai` in `openai/gpt-4o`) by every trial of the process.

`rate_limit` and `failure_pause` also accept the short strings a command line gives:
`rate_limit="500/60"` (500 calls per 60 s) and `failure_pause="5/60"` (after 5 consecutive
failures, pause 60 s). This module imports nothing from the runtime.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PROVIDER_SETTINGS_SCHEMA_VERSION = 1

ReasoningEffort = Literal["off", "low", "medium", "high"]
REASONING_EFFORTS: tuple[str, ...] = typing.get_args(ReasoningEffort)
"""The one list of reasoning efforts: flags, suites, variants and the provider layer."""

_PAIR = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*$")


def _pair(value: Any, first: str, second: str, example: str) -> Any:
    """`"N/S"` -> `{first: N, second: S}`; anything else is left for pydantic."""
    if not isinstance(value, str):
        return value
    match = _PAIR.match(value)
    if not match:
        raise ValueError(f"expected 'N/seconds' like {example!r}, found {value!r}")
    return {first: int(match.group(1)), second: float(match.group(2))}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimit(_Strict):
    """At most `calls` call starts in any `window_seconds` (sliding window)."""

    calls: int = Field(ge=1)
    window_seconds: float = Field(gt=0)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return _pair(value, "calls", "window_seconds", "500/60")

    def __str__(self) -> str:
        return f"{self.calls}/{self.window_seconds:g}"


class FailurePause(_Strict):
    """Circuit breaker: after `failures` consecutive failed calls to a provider, hold
    every call to it for `seconds`, then let one probe call through."""

    failures: int = Field(ge=1)
    seconds: float = Field(ge=0)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return _pair(value, "failures", "seconds", "5/60")

    def __str__(self) -> str:
        return f"{self.failures}/{self.seconds:g}"


class ProviderSettings(_Strict):
    """Every limit of the provider layer. Saved in the job config; no secrets here."""

    schema_version: int = PROVIDER_SETTINGS_SCHEMA_VERSION

    max_retries: int = Field(6, ge=0, description="Retries after the first attempt.")
    backoff_initial: float = Field(
        2.0, ge=0, description="First backoff ceiling in seconds; doubles each retry."
    )
    backoff_max: float = Field(60.0, ge=0, description="Largest backoff between attempts.")
    retry_after_max: float = Field(
        300.0, ge=0, description="Cap on a server's Retry-After that opsbench will honour."
    )
    request_timeout: float = Field(600.0, gt=0, description="Seconds for one HTTP call.")

    min_request_interval: float = Field(
        0.1, ge=0, description="Seconds between the starts of two calls to one provider."
    )
    rate_limit: RateLimit | None = Field(
        default_factory=lambda: RateLimit(calls=500, window_seconds=60),
        description="N calls per window per provider ('N/window_seconds'); null: none.",
    )
    failure_pause: FailurePause | None = Field(
        default_factory=lambda: FailurePause(failures=5, seconds=60),
        description="Circuit breaker ('K/P'); null: never pause.",
    )

    pause_file: Path | None = Field(
        None, description="While this file exists, no model call starts."
    )
    pause_poll_interval: float = Field(1.0, gt=0)

    api_base: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible endpoint (else OPENAI_API_BASE or "
        "the provider's own).",
    )
    anthropic_thinking_budgets: dict[str, int] = Field(
        default_factory=lambda: {"low": 2048, "medium": 8192, "high": 24576},
        description="Thinking budget tokens per reasoning effort for Anthropic models.",
    )
