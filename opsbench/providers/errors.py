"""What a failed model call means: its kind, whether to retry, and whose fault it is.

`classify_error` reads LiteLLM's exception classes and the HTTP status. Retryable kinds
(429, 5xx, overloaded, timeouts, connection errors) are retried with backoff; the rest are
not. When a call finally fails, `escalate` turns the error into what the trial runtime
understands: `ProviderCallFailed` (an `opsbench.failures.ProviderError`: excluded from
scores, rerun on resume) when the provider or its configuration is at fault, or
`ModelRequestRejected` (for instance `ContextLengthExceeded`) when the request the agent
built was the problem — that one is the agent's, and counts.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from opsbench.errors import OpsbenchError
from opsbench.failures import ProviderError


class ErrorKind(StrEnum):
    RATE_LIMIT = "rate_limit"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    SERVER = "server_error"
    OVERLOADED = "overloaded"
    AUTH = "auth"
    NOT_FOUND = "not_found"
    BAD_REQUEST = "bad_request"
    CONTEXT_LENGTH = "context_length"
    CONTENT_POLICY = "content_policy"
    OTHER = "other"


RETRYABLE = frozenset(
    {
        ErrorKind.RATE_LIMIT,
        ErrorKind.TIMEOUT,
        ErrorKind.CONNECTION,
        ErrorKind.SERVER,
        ErrorKind.OVERLOADED,
    }
)
AGENT_FAULT = frozenset({ErrorKind.CONTEXT_LENGTH, ErrorKind.CONTENT_POLICY})


@dataclass(frozen=True)
class ErrorClass:
    kind: ErrorKind
    retry_after: float | None = None
    """Seconds the server asked us to wait (Retry-After / retry-after-ms), if any."""

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE

    @property
    def provider_fault(self) -> bool:
        """Not the agent's doing: the trial is a provider_error, not a failed attempt."""
        return self.kind not in AGENT_FAULT


class ProviderCallFailed(ProviderError):
    """A model call failed after every retry, or on an error retrying cannot fix (auth,
    unknown model, a request the endpoint rejects)."""

    def __init__(self, message: str, *, provider: str, kind: ErrorKind, attempts: int) -> None:
        super().__init__(message)
        self.provider = provider
        self.kind = kind
        self.attempts = attempts


class ModelRequestRejected(Exception):
    """The provider refused the request because of what the agent sent (not retried)."""

    def __init__(self, message: str, *, kind: ErrorKind) -> None:
        super().__init__(message)
        self.kind = kind


class ContextLengthExceeded(ModelRequestRejected):
    """The conversation outgrew the model's context window."""


class ProviderConfigError(OpsbenchError, ProviderError):
    """The model settings cannot work (no model, bad settings, an effort the model cannot
    honour). A user error at planning time; inside a trial a provider_error (never a
    zero), since the model was never really asked."""


class UnsupportedReasoningEffort(ProviderConfigError):
    """The requested reasoning effort cannot be honoured by this model."""


_CREDENTIAL_HINTS = ("missing credentials", "api key", "api_key", "apikey")
_CREDENTIAL_VERBS = ("missing", "must be set", "not set", "no key", "not provided", "invalid")


def classify_error(exc: BaseException) -> ErrorClass | None:
    """The kind of a model-call failure; None when `exc` is not one (a bug: let it rise)."""
    if not _from_client_library(exc):
        return None
    kind = _kind(exc, type(exc).__name__, getattr(exc, "status_code", None), str(exc).lower())
    return ErrorClass(kind, retry_after_seconds(exc) if kind in RETRYABLE else None)


def _from_client_library(exc: BaseException) -> bool:
    module = type(exc).__module__
    return module.split(".")[0] in {"litellm", "openai", "httpx", "httpcore", "anthropic"}


def _kind(exc: BaseException | None, name: str, status: Any, message: str) -> ErrorKind:  # noqa: C901
    if name == "ContextWindowExceededError":
        return ErrorKind.CONTEXT_LENGTH
    if name == "ContentPolicyViolationError":
        return ErrorKind.CONTENT_POLICY
    if name in {"AuthenticationError", "PermissionDeniedError"} or status in {401, 402, 403}:
        return ErrorKind.AUTH
    if name == "RateLimitError" or status == 429:
        return ErrorKind.RATE_LIMIT
    if name in {"Timeout", "APITimeoutError"} or "timeout" in name.lower():
        return ErrorKind.TIMEOUT
    if any(h in message for h in _CREDENTIAL_HINTS) and any(
        v in message for v in _CREDENTIAL_VERBS
    ):
        return ErrorKind.AUTH  # LiteLLM reports a missing OpenAI key as a 500
    if status == 529 or "overloaded" in message:
        return ErrorKind.OVERLOADED
    if name == "APIConnectionError" or "connect" in name.lower():
        return ErrorKind.CONNECTION
    if name == "NotFoundError" or status == 404:
        return ErrorKind.NOT_FOUND
    if isinstance(status, int) and status >= 500:
        return ErrorKind.SERVER
    if name in {"InternalServerError", "ServiceUnavailableError", "BadGatewayError"}:
        return ErrorKind.SERVER
    if name in {"BadRequestError", "UnprocessableEntityError", "UnsupportedParamsError"}:
        return ErrorKind.BAD_REQUEST
    if status in {400, 413, 422}:
        return ErrorKind.BAD_REQUEST
    return ErrorKind.OTHER


def classify_reported(
    name: str, status: int | None, message: str, headers: Mapping[str, str]
) -> ErrorClass:
    """The kind of a failure another process saw and reported by its parts (the model
    gateway's proxy: exception class name, HTTP status, message, Retry-After headers)."""
    kind = _kind(None, name, status, message.lower())
    retry_after = _retry_after({k.lower(): v for k, v in headers.items()})
    return ErrorClass(kind, retry_after if kind in RETRYABLE else None)


def retry_after_seconds(exc: BaseException) -> float | None:
    """Retry-After from the error's response headers (seconds, ms, or an HTTP date)."""
    return _retry_after(_headers(exc))


def _retry_after(headers: Mapping[str, str]) -> float | None:
    if not headers:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _headers(exc: BaseException) -> dict[str, str]:
    found: dict[str, str] = {}
    sources: list[Any] = [getattr(exc, "litellm_response_headers", None)]
    response = getattr(exc, "response", None)
    sources.append(getattr(response, "headers", None))
    for source in sources:
        if isinstance(source, Mapping) or hasattr(source, "items"):
            for key, value in source.items():
                found.setdefault(str(key).lower(), str(value))
    return found


def escalate(exc: BaseException, error: ErrorClass, *, provider: str, attempts: int) -> Exception:
    """The exception a caller sees once retrying is over."""
    detail = f"{provider}: {error.kind} after {attempts} attempt(s): {_short(exc)}"
    if error.kind == ErrorKind.CONTEXT_LENGTH:
        return ContextLengthExceeded(detail, kind=error.kind)
    if not error.provider_fault:
        return ModelRequestRejected(detail, kind=error.kind)
    return ProviderCallFailed(detail, provider=provider, kind=error.kind, attempts=attempts)


def _short(exc: BaseException, limit: int = 500) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[:limit] + "…"
