"""opsbench's hooks inside the LiteLLM proxy of a job's model gateway.

The proxy does the protocol work (OpenAI chat and Responses, Anthropic Messages, any
provider behind them); these hooks tie every request to the job's driver, which holds the
trial keys and the provider limits:

- `user_api_key_auth` (LiteLLM's `custom_auth`): a key is valid only while the driver
  says so (`POST /auth`); a revoked key is refused at once, there is no cache.
  A model call is counted there too (one round trip per request, not two).
- `OpsbenchLimits.async_pre_call_hook`: marks the route's own call type, so a call
  LiteLLM nests inside it (Messages in front of an OpenAI model) is not counted twice.
- `OpsbenchLimits.async_pre_call_deployment_hook`: before every upstream attempt,
  retries included, a permit from the driver (`POST /permit`): its pause file, circuit
  breaker, minimum interval, rate limit and Retry-After hold are the job's, shared with
  every other model caller of the job.
- `async_log_success_event` / `async_log_failure_event`: each attempt's outcome, tokens
  and cost back to the driver (`POST /record`), which fills the trial's usage counters.
- `async_post_call_failure_hook`: a call that failed for good (`POST /failed`).

The driver's address and the token that proves these calls come from the gateway are in
the environment (`OPSBENCH_CONTROL_URL`, `OPSBENCH_CONTROL_TOKEN`). Runs in the gateway
image only (LiteLLM's proxy and httpx are installed there, opsbench is not).
"""

from __future__ import annotations

import os
import socket
from typing import Any

import httpx
from fastapi import HTTPException, Request
from litellm.integrations.custom_logger import CustomLogger
from litellm.proxy._types import UserAPIKeyAuth

_client: httpx.AsyncClient | None = None


def _control() -> httpx.AsyncClient:
    global _client
    if _client is None:
        _client = httpx.AsyncClient(
            # TCP_NODELAY: small request writes must not wait for the driver's delayed ACK.
            transport=httpx.AsyncHTTPTransport(
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
            ),
            base_url=os.environ["OPSBENCH_CONTROL_URL"],
            headers={"Authorization": "Bearer " + os.environ["OPSBENCH_CONTROL_TOKEN"]},
            timeout=httpx.Timeout(None, connect=10.0),
        )
    return _client


async def _post(path: str, body: dict[str, Any]) -> httpx.Response:
    return await _control().post(path, json=body)


MODEL_ROUTES = (
    "/v1/chat/completions",
    "/chat/completions",
    "/v1/completions",
    "/completions",
    "/v1/responses",
    "/responses",
    "/v1/messages",
    "/v1/models",
    "/models",
)
"""What a trial key may call: models, never the proxy's admin or config routes."""


async def user_api_key_auth(request: Request, api_key: str) -> UserAPIKeyAuth:
    """A trial's virtual key -> its lease, on model routes only; anything else is 401."""
    path = request.url.path.rstrip("/")
    if not any(path == r or path.startswith(r + "/") for r in MODEL_ROUTES):
        raise HTTPException(status_code=401, detail=f"{path}: not a model route")
    key = (api_key or "").removeprefix("Bearer ").strip()
    if not key:
        key = request.headers.get("x-api-key", "").strip()  # Anthropic's header
    call = not (path.endswith("/models") or "/models/" in path)
    answer = await _post("/auth", {"key": key, "call": call})
    if answer.status_code != 200:
        raise HTTPException(status_code=401, detail="invalid or revoked opsbench gateway key")
    return UserAPIKeyAuth(api_key=key, user_id=answer.json()["lease"])


def _lease(kwargs: dict[str, Any]) -> str:
    """The lease the proxy's auth put on the request (where it sits depends on the route:
    `metadata` for chat, `litellm_metadata` for Responses and Messages)."""
    holders = [kwargs.get("litellm_params") or {}, kwargs]
    for holder in holders:
        for name in ("metadata", "litellm_metadata"):
            metadata = holder.get(name) or {}
            lease = metadata.get("user_api_key_user_id") if isinstance(metadata, dict) else None
            if lease:
                return str(lease)
    logged = kwargs.get("standard_logging_object") or {}
    return str((logged.get("metadata") or {}).get("user_api_key_user_id") or "")


def _usage(response: Any) -> dict[str, int]:
    usage = getattr(response, "usage", None)
    if usage is None and isinstance(response, dict):
        usage = response.get("usage")
    if usage is None:
        return {"input_tokens": 0, "output_tokens": 0}

    def read(*names: str) -> int:
        for name in names:
            value = usage.get(name) if isinstance(usage, dict) else getattr(usage, name, None)
            if value:
                return int(value)
        return 0

    return {
        "input_tokens": read("prompt_tokens", "input_tokens"),
        "output_tokens": read("completion_tokens", "output_tokens"),
    }


def _error(exc: Any) -> dict[str, Any]:
    headers: dict[str, str] = {}
    for source in (
        getattr(exc, "litellm_response_headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
    ):
        if source is not None and hasattr(source, "items"):
            for key, value in source.items():
                headers.setdefault(str(key).lower(), str(value))
    return {
        "name": type(exc).__name__,
        "status": getattr(exc, "status_code", None),
        "message": str(exc)[:2000],
        "headers": {k: v for k, v in headers.items() if k.startswith("retry-after")},
    }


_ROUTE_TYPE = "opsbench_call_type"
_ASYNC_NAMES = {"completion", "responses", "text_completion", "embedding", "anthropic_messages"}


def _call_type(value: Any) -> str:
    """`acompletion`, `completion` and `CallTypes.acompletion` are one call type."""
    name = str(getattr(value, "value", value) or "").rpartition(".")[2]
    return name[1:] if name.startswith("a") and name[1:] in _ASYNC_NAMES else name


def _route_type(kwargs: dict[str, Any]) -> str:
    holders = [kwargs, kwargs.get("litellm_params") or {}]
    for holder in holders:
        for name in ("metadata", "litellm_metadata"):
            metadata = holder.get(name)
            if isinstance(metadata, dict) and metadata.get(_ROUTE_TYPE):
                return str(metadata[_ROUTE_TYPE])
    logged = kwargs.get("standard_logging_object") or {}
    return str((logged.get("metadata") or {}).get(_ROUTE_TYPE) or "")


def _logged_call_type(kwargs: dict[str, Any]) -> Any:
    logged = kwargs.get("standard_logging_object") or {}
    return kwargs.get("call_type") or logged.get("call_type")


def _is_route_call(kwargs: dict[str, Any], call_type: Any) -> bool:
    """True for the call the route itself makes (each of its attempts), False for a call
    LiteLLM makes inside it (Anthropic Messages in front of an OpenAI model runs a chat
    completion inside `anthropic_messages`): one permit and one record per attempt."""
    route = _route_type(kwargs)
    return not route or route == _call_type(call_type)


class OpsbenchLimits(CustomLogger):
    """Permits before every upstream attempt; outcomes and usage after it."""

    async def async_pre_call_hook(
        self, user_api_key_dict: UserAPIKeyAuth, cache: Any, data: dict[str, Any], call_type: Any
    ) -> dict[str, Any]:
        marked = False
        for name in ("metadata", "litellm_metadata"):
            if isinstance(data.get(name), dict):
                data[name][_ROUTE_TYPE] = _call_type(call_type)
                marked = True
        if not marked:
            data["litellm_metadata"] = {_ROUTE_TYPE: _call_type(call_type)}
        return data

    async def async_pre_call_deployment_hook(
        self, kwargs: dict[str, Any], call_type: Any
    ) -> dict[str, Any] | None:
        if not _is_route_call(kwargs, call_type):
            return None
        lease = _lease(kwargs)
        if not lease:
            print(f"opsbench: no lease on a {call_type} call; kwargs: {sorted(kwargs)}", flush=True)
        answer = await _post(
            "/permit", {"lease": lease, "call_id": str(kwargs.get("litellm_call_id") or "")}
        )
        if answer.status_code != 200:
            raise HTTPException(status_code=503, detail=answer.text[:500])
        return None

    async def async_log_success_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        if not _is_route_call(kwargs, _logged_call_type(kwargs)):
            return
        await _post(
            "/record",
            {
                "lease": _lease(kwargs),
                "call_id": str(kwargs.get("litellm_call_id") or ""),
                "ok": True,
                "seconds": _seconds(start_time, end_time),
                "cost_usd": float(kwargs.get("response_cost") or 0.0),
                **_usage(response_obj),
            },
        )

    async def async_log_failure_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        if not _is_route_call(kwargs, _logged_call_type(kwargs)):
            return
        await _post(
            "/record",
            {
                "lease": _lease(kwargs),
                "call_id": str(kwargs.get("litellm_call_id") or ""),
                "ok": False,
                "seconds": _seconds(start_time, end_time),
                "error": _error(kwargs.get("exception")),
            },
        )

    async def async_post_call_failure_hook(
        self,
        request_data: dict[str, Any],
        original_exception: Exception,
        user_api_key_dict: UserAPIKeyAuth,
        traceback_str: str | None = None,
    ) -> None:
        if user_api_key_dict.user_id:
            await _post(
                "/failed",
                {
                    "lease": user_api_key_dict.user_id,
                    "call_id": str(request_data.get("litellm_call_id") or ""),
                    "error": _error(original_exception),
                },
            )


def _seconds(start: Any, end: Any) -> float:
    try:
        return max(0.0, float((end - start).total_seconds()))
    except Exception:
        return 0.0


limits = OpsbenchLimits()
