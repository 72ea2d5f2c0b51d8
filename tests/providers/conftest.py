"""Provider-layer tests: a real HTTP server on 127.0.0.1 spoken to through LiteLLM."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from opsbench.models.provider import ProviderSettings
from opsbench.providers import GateRegistry
from tests.fakes.openai_server import FakeOpenAIServer, litellm_warm, openai_server

__all__ = ["litellm_warm", "openai_server"]


@pytest.fixture(autouse=True)
def _offline_openai_env(monkeypatch: pytest.MonkeyPatch, litellm_warm: None) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


@pytest.fixture
def registry() -> Iterator[GateRegistry]:
    """Fresh per-provider gates, so one test's breaker or rate state never leaks."""
    yield GateRegistry()


@pytest.fixture
def fast(openai_server: FakeOpenAIServer) -> ProviderSettings:
    """Settings pointing at the fake server with tiny waits and no limits."""
    return ProviderSettings(
        api_base=openai_server.url,
        max_retries=3,
        backoff_initial=0.01,
        backoff_max=0.02,
        request_timeout=5,
        min_request_interval=0,
        rate_limit=None,
        failure_pause=None,
    )
