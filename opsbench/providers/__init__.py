"""The provider layer: every model call in opsbench (agents, LLM judge) goes through here.

    from opsbench.providers import ModelClient
    client = ModelClient("openai/gpt-4o", reasoning_effort="off",
                         settings=ProviderSettings(...), usage=counters, cancelled=event)
    answer = client.complete(messages, tools=tools)

On top of LiteLLM (imported lazily, offline cost map): retries with exponential backoff and
jitter honouring Retry-After (tenacity), a minimum interval and a rate limit per provider
shared by all trial threads, a circuit breaker, a pause file, reasoning-effort mapping
with clear errors, and per-trial usage counters. When calls fail after every retry — or
fail in a way retrying cannot fix that is the provider's or the configuration's doing
(auth, unknown model, a rejected parameter) — `ProviderCallFailed`, an
`opsbench.failures.ProviderError`, is raised: the trial is a provider_error, excluded from
scores and rerun on resume. A context-length overflow is the agent's and raises
`ContextLengthExceeded` instead.

Modules: `client` (ModelClient, retries, accounting), `limits` (gates), `errors`
(classification), `reasoning` (effort mapping), `llm` (the lazy LiteLLM import).
"""

from __future__ import annotations

from opsbench.models.provider import FailurePause, ProviderSettings, RateLimit
from opsbench.providers.client import Completion, ModelClient, ToolCallRequest, check_model
from opsbench.providers.errors import (
    ContextLengthExceeded,
    ErrorKind,
    ModelRequestRejected,
    ProviderCallFailed,
    ProviderConfigError,
    UnsupportedReasoningEffort,
    classify_error,
)
from opsbench.providers.limits import GateRegistry, ProviderGate, default_registry
from opsbench.providers.reasoning import reasoning_params

__all__ = [
    "Completion",
    "ContextLengthExceeded",
    "ErrorKind",
    "FailurePause",
    "GateRegistry",
    "ModelClient",
    "ModelRequestRejected",
    "ProviderCallFailed",
    "ProviderConfigError",
    "ProviderGate",
    "ProviderSettings",
    "RateLimit",
    "ToolCallRequest",
    "UnsupportedReasoningEffort",
    "check_model",
    "classify_error",
    "default_registry",
    "reasoning_params",
    "reset_gates",
]


def reset_gates() -> None:
    """Forget every provider's breaker and rate state (tests; a fresh job)."""
    default_registry().clear()
