"""The driver's side of the gateway over real HTTP (no Docker): the routes the proxy's hooks
call, with the job's real provider gate behind them."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from opsbench.gateway.control import ControlServer
from opsbench.gateway.gateway import GatewaySpec, proxy_config
from opsbench.models.provider import ProviderSettings
from opsbench.models.result import UsageCounters
from opsbench.providers.errors import ProviderCallFailed
from opsbench.providers.limits import BreakerState, GateRegistry


@pytest.fixture
def control() -> Iterator[ControlServer]:
    settings = ProviderSettings(min_request_interval=0, failure_pause="2/30", max_retries=2)
    server = ControlServer("127.0.0.1", "openai", settings, registry=GateRegistry())
    try:
        yield server
    finally:
        server.close()


def post(server: ControlServer, path: str, body: dict[str, Any], token: str | None = None) -> int:
    req = urllib.request.Request(
        server.url + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {server.token if token is None else token}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_a_key_is_valid_from_issue_to_revoke_and_only_with_the_gateway_token(
    control: ControlServer,
) -> None:
    lease = control.issue("t__1", UsageCounters())
    assert post(control, "/auth", {"key": lease.key}) == 200
    assert post(control, "/auth", {"key": lease.key}, token="guessed") == 401
    assert post(control, "/auth", {"key": "sk-opsbench-made-up"}) == 403
    control.revoke(lease)
    assert post(control, "/auth", {"key": lease.key}) == 403
    assert post(control, "/permit", {"lease": lease.id, "call_id": "c"}) == 403


def test_usage_retries_and_errors_land_in_the_trial_counters(control: ControlServer) -> None:
    usage = UsageCounters()
    lease = control.issue("t__1", usage)
    error = {"name": "RateLimitError", "status": 429, "message": "slow", "headers": {}}
    assert post(control, "/auth", {"key": lease.key, "call": True}) == 200
    assert post(control, "/auth", {"key": lease.key, "call": False}) == 200  # a listing
    assert post(control, "/permit", {"lease": lease.id, "call_id": "c1"}) == 200
    post(control, "/record", {"lease": lease.id, "call_id": "c1", "ok": False, "error": error})
    assert post(control, "/permit", {"lease": lease.id, "call_id": "c1"}) == 200
    ok = {"ok": True, "input_tokens": 7, "output_tokens": 2, "cost_usd": 0.5}
    post(control, "/record", {"lease": lease.id, "call_id": "c1", **ok})
    assert (usage.calls, usage.retries, usage.errors) == (1, 1, {"rate_limit": 1})
    assert (usage.input_tokens, usage.output_tokens, usage.cost_usd) == (7, 2, 0.5)
    assert lease.failure is None


def test_failures_feed_the_shared_breaker_and_a_final_one_is_a_provider_error(
    control: ControlServer,
) -> None:
    lease = control.issue("t__1", UsageCounters())
    error = {"name": "InternalServerError", "status": 500, "message": "boom", "headers": {}}
    for _ in range(2):
        post(control, "/permit", {"lease": lease.id, "call_id": "c1"})
        post(control, "/record", {"lease": lease.id, "call_id": "c1", "ok": False, "error": error})
    assert control.gate.state == BreakerState.OPEN  # the same gate `sre` calls pass
    post(control, "/failed", {"lease": lease.id, "error": error})
    assert isinstance(lease.failure, ProviderCallFailed)
    assert "server_error after 2 attempt(s)" in str(lease.failure)


def test_an_attempt_retried_without_a_report_is_a_failure(control: ControlServer) -> None:
    usage = UsageCounters()
    lease = control.issue("t__1", usage)
    assert post(control, "/permit", {"lease": lease.id, "call_id": "c1"}) == 200
    assert post(control, "/permit", {"lease": lease.id, "call_id": "c1"}) == 200  # no record
    post(control, "/record", {"lease": lease.id, "call_id": "c1", "ok": True})
    control.revoke(lease, drain_timeout=0.2)
    assert (usage.retries, usage.errors) == (1, {"other": 1})


def test_an_agent_fault_is_not_a_provider_error(control: ControlServer) -> None:
    lease = control.issue("t__1", UsageCounters())
    error = {"name": "ContextWindowExceededError", "status": 400, "message": "too long"}
    post(control, "/failed", {"lease": lease.id, "error": error})
    assert lease.failure is None


def test_revoking_releases_an_attempt_waiting_for_its_permit(control: ControlServer) -> None:
    slow = ControlServer(
        "127.0.0.1",
        "slowprovider",
        ProviderSettings(min_request_interval=30),
        registry=GateRegistry(),
    )
    try:
        lease = slow.issue("t__1", UsageCounters())
        assert post(slow, "/permit", {"lease": lease.id, "call_id": "a"}) == 200
        answers: list[int] = []
        waiter = threading.Thread(
            target=lambda: answers.append(
                post(slow, "/permit", {"lease": lease.id, "call_id": "b"})
            )
        )
        waiter.start()
        time.sleep(0.3)
        slow.revoke(lease)
        waiter.join(timeout=5)
        assert answers == [409]
    finally:
        slow.close()


def test_the_proxy_config_maps_every_alias_to_the_jobs_model_without_the_key() -> None:
    spec = GatewaySpec(
        job="j",
        model="openai/gpt-x",
        settings=ProviderSettings(api_base="http://upstream/v1", max_retries=4),
        aliases=("claude-haiku",),
    )
    config = proxy_config(spec, {"OPENAI_API_KEY": "sk-real"})
    names = [m["model_name"] for m in config["model_list"]]
    assert names == ["gpt-x", "openai/gpt-x", "claude-haiku"]
    params = config["model_list"][0]["litellm_params"]
    assert params["model"] == "openai/gpt-x" and params["api_base"] == "http://upstream/v1"
    assert params["api_key"] == "os.environ/OPENAI_API_KEY"
    assert "sk-real" not in json.dumps(config)
    assert config["router_settings"]["num_retries"] == 4
