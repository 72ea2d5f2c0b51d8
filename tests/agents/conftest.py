"""Agent tests: scripted models on a real local HTTP server, a fake in-memory Sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opsbench.agent import AgentConfig, AgentContext
from opsbench.providers import GateRegistry
from tests.fakes.openai_server import FakeOpenAIServer, openai_server

__all__ = ["openai_server"]


@pytest.fixture(autouse=True)
def _offline_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


@pytest.fixture
def fast_provider(openai_server: FakeOpenAIServer) -> dict[str, Any]:
    """Provider settings as the runtime passes them: a plain dict in `extra`."""
    return {
        "api_base": openai_server.url,
        "max_retries": 2,
        "backoff_initial": 0.01,
        "backoff_max": 0.02,
        "request_timeout": 5,
        "min_request_interval": 0,
        "rate_limit": None,
        "failure_pause": None,
    }


@pytest.fixture
def make_context(tmp_path: Path, fast_provider: dict[str, Any]) -> Any:
    def make(config: AgentConfig, **extra: Any) -> AgentContext:
        return AgentContext(
            task_id="nginx-down",
            config=config,
            logs_dir=tmp_path / "agent",
            task_dir=tmp_path / "task",
            scenario_time="2026-01-01T12:00:00Z",
            extra={
                "provider_settings": dict(fast_provider),
                "provider_registry": GateRegistry(),
                "seed": 1,
                **extra,
            },
        )

    return make
