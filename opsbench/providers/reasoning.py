"""Reasoning effort (off/low/medium/high) -> the parameters each provider understands.

What a model supports is read from LiteLLM's local model map (`supports_reasoning`,
`supports_none_reasoning_effort`, `thinking_always_on`, `reasoning_effort_levels`, …):

- OpenAI-style models get LiteLLM's `reasoning_effort`, which it maps per provider (Gemini
  thinking budgets or levels, xAI, DeepSeek, …);
- Anthropic models get an explicit extended-thinking budget
  (`thinking={"type": "enabled", "budget_tokens": N}`, N from
  `ProviderSettings.anthropic_thinking_budgets`), except adaptive-thinking models, which
  take `reasoning_effort`;
- `off` sends `reasoning_effort="none"` where the map says reasoning can be switched off,
  nothing for models that do not reason or reason only on request (Anthropic), and is an
  error for models that always reason (o-series, `thinking_always_on`);
- a model the map does not know is passed through unchecked when it sits behind an
  explicit OpenAI-compatible base URL; elsewhere a non-`off` effort is an error.

An effort the model cannot honour raises `UnsupportedReasoningEffort` before any call:
a benchmark variant must never silently run at another effort than its name says.
"""

from __future__ import annotations

from typing import Any

from opsbench.models.provider import REASONING_EFFORTS, ProviderSettings
from opsbench.providers.errors import UnsupportedReasoningEffort
from opsbench.providers.llm import load_litellm

_OPENAI_FAMILY = {"openai", "azure", "text-completion-openai"}
_ANTHROPIC = {"anthropic"}


def model_info(model: str) -> dict[str, Any] | None:
    """LiteLLM's model-map entry for `model`, or None when the map does not know it."""
    litellm = load_litellm()
    try:
        info = dict(litellm.get_model_info(model))
    except Exception:
        return None
    raw = litellm.model_cost.get(info.get("key") or "", {})
    return {**info, **raw}


def reasoning_params(
    model: str, effort: str, *, api_base: str | None, settings: ProviderSettings
) -> dict[str, Any]:
    """Extra `litellm.completion` parameters for `effort`; raises when unsupported."""
    if effort not in REASONING_EFFORTS:
        raise UnsupportedReasoningEffort(
            f"unknown reasoning effort {effort!r}; choose one of {', '.join(REASONING_EFFORTS)}"
        )
    info = model_info(model)
    if info is None:
        if effort == "off":
            return {}
        if api_base:
            return {"reasoning_effort": effort}
        raise UnsupportedReasoningEffort(
            f"model {model!r} is not in LiteLLM's model map, so opsbench cannot check that "
            f"it supports reasoning effort {effort!r}; serve it behind an OpenAI-compatible "
            "api_base (passed through unchecked) or use reasoning effort 'off'"
        )
    provider = str(info.get("litellm_provider") or "")
    if not info.get("supports_reasoning"):
        if effort == "off":
            return {}
        raise UnsupportedReasoningEffort(
            f"model {model!r} does not support reasoning (LiteLLM's model map); "
            f"reasoning effort {effort!r} cannot be honoured: use 'off'"
        )
    if effort == "off":
        return _off(model, info, provider)
    _check_level(model, info, effort)
    if provider in _ANTHROPIC and not info.get("supports_adaptive_thinking"):
        budget = settings.anthropic_thinking_budgets.get(effort)
        if budget is None:
            raise UnsupportedReasoningEffort(
                f"no Anthropic thinking budget configured for effort {effort!r}"
            )
        return {"thinking": {"type": "enabled", "budget_tokens": budget}}
    return {"reasoning_effort": effort}


def _off(model: str, info: dict[str, Any], provider: str) -> dict[str, Any]:
    if info.get("supports_none_reasoning_effort"):
        return {"reasoning_effort": "none"}
    if info.get("thinking_always_on") or provider in _OPENAI_FAMILY:
        lowest = "minimal" if info.get("supports_minimal_reasoning_effort") else "low"
        raise UnsupportedReasoningEffort(
            f"model {model!r} always reasons; reasoning effort 'off' cannot be honoured "
            f"(its lowest setting is {lowest!r}): use 'low'"
        )
    return {}


def _check_level(model: str, info: dict[str, Any], effort: str) -> None:
    levels = info.get("reasoning_effort_levels")
    refused = info.get(f"supports_{effort}_reasoning_effort") is False or (
        isinstance(levels, list) and effort not in levels
    )
    if refused:
        allowed = f" (it accepts {', '.join(levels)})" if isinstance(levels, list) else ""
        raise UnsupportedReasoningEffort(
            f"model {model!r} does not support reasoning effort {effort!r}{allowed}"
        )
