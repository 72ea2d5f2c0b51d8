"""The model gateway, real parts: LiteLLM's proxy in its own container, joined to an
isolated trial's network, in front of the scripted OpenAI-compatible server (listening on
the docker bridge, where the gateway's egress network reaches the host). An agent in the
task container calls it with curl, as the installed CLI agents do.

One job (one gateway start) serves every trial of this module.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsbench.agent import AgentContext
from opsbench.gateway.jobs import close_gateways, gateway_for
from opsbench.models.provider import ProviderSettings
from opsbench.models.result import Outcome
from opsbench.paths import ProjectPaths
from opsbench.providers import reset_gates
from opsbench.runtime.docker import LABEL_JOB, LABEL_ROLE, LABEL_TRIAL, client
from opsbench.sandbox import Sandbox
from tests.fakes.openai_server import (
    FakeOpenAIServer,
    docker_bridge_address,
    drop_reply,
    error_reply,
    text_reply,
)
from tests.runtime.conftest import TrialRunner, leftovers, write_spec
from tests.runtime.gateway_agents import GatewayCaller
from tests.runtime.test_trials import SIMPLE

# The first test starts the gateway: LiteLLM's proxy imports for ~15 CPU-seconds, which
# on a loaded 2-core machine is minutes of wall time.
pytestmark = [pytest.mark.docker, pytest.mark.timeout(1500)]

JOB = "gateway-test"
MODEL = "openai/scripted-gw"
AGENT = "tests.runtime.gateway_agents:GatewayCaller"
ISOLATED = SIMPLE.replace(
    "  timeouts: {agent_sec: 20}", "  network: isolated\n  timeouts: {agent_sec: 300}"
)


@pytest.fixture(scope="module")
def provider() -> Iterator[tuple[FakeOpenAIServer, dict[str, Any], str]]:
    """The scripted model on the docker bridge, the job's settings, the real key."""
    real_key = "sk-real-provider-" + secrets.token_hex(12)
    saved = pytest.MonkeyPatch()
    saved.setenv("OPENAI_API_KEY", real_key)
    reset_gates()
    with FakeOpenAIServer(host=docker_bridge_address()) as server:
        settings = {
            "api_base": server.url,
            "max_retries": 2,
            "backoff_initial": 0.01,
            "backoff_max": 0.05,
            "min_request_interval": 0,
            "rate_limit": None,
            "failure_pause": None,
            "request_timeout": 20,
        }
        try:
            yield server, settings, real_key
        finally:
            close_gateways(JOB)
            saved.undo()
            reset_gates()
    containers, networks = leftovers(JOB)
    assert not containers and not networks, "the gateway left containers or networks behind"


@pytest.fixture
def task(project: ProjectPaths) -> ProjectPaths:
    write_spec(project, "basic", "touch-file", ISOLATED)
    return project


def _outputs(commands: Path) -> list[str]:
    return [json.loads(line)["stdout"] for line in commands.read_text().splitlines()]


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _status(url: str, key: str) -> int:
    body = json.dumps({"model": "scripted-gw", "messages": [{"role": "user", "content": "x"}]})
    req = urllib.request.Request(
        f"{url}/v1/chat/completions",
        data=body.encode(),
        headers={"Authorization": f"Bearer {key}", "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_three_protocols_with_a_trial_key_that_is_revoked_after(
    task: ProjectPaths, run_task: TrialRunner, provider: tuple[FakeOpenAIServer, Any, str]
) -> None:
    server, settings, real_key = provider
    server.push(
        text_reply("chat answer", prompt_tokens=11, completion_tokens=3),
        text_reply("responses answer", prompt_tokens=12, completion_tokens=4),
        text_reply("messages answer", prompt_tokens=13, completion_tokens=5),
    )
    GatewayCaller.seen.clear()
    before = len(server.requests)
    result, paths = run_task(
        "touch-file",
        AGENT,
        job=JOB,
        model=MODEL,
        provider_settings=settings,
        calls=f"chat,responses,messages,{server.url}/chat/completions",
    )
    assert result.outcome == Outcome.GRADED, result.exception
    chat, responses, messages, direct = _outputs(paths.commands)
    assert chat.startswith("200") and "chat answer" in chat, chat
    assert responses.startswith("200") and "responses answer" in responses, responses
    assert messages.startswith("200") and "messages answer" in messages, messages
    assert '"type":"message"' in messages.replace(" ", "") or "content" in messages
    assert not direct.startswith("200"), "the isolated task reached the provider directly"
    # Upstream saw the real key, sent by the gateway; the agent only ever had its own.
    upstream = server.requests[before:]
    assert len(upstream) == 3
    assert {_header(r.headers, "authorization") for r in upstream} == {f"Bearer {real_key}"}
    # LiteLLM serves Anthropic Messages for an OpenAI model through the Responses API.
    assert [r.path for r in upstream] == [
        "/v1/chat/completions",
        "/v1/responses",
        "/v1/responses",
    ]
    usage = result.usage
    assert (usage.calls, usage.retries) == (3, 0)
    assert (usage.input_tokens, usage.output_tokens) == (36, 12)
    # The key worked during the trial; after it, the same key is refused.
    (access,) = GatewayCaller.seen
    gateway = gateway_for(JOB, MODEL, ProviderSettings.model_validate(settings))
    assert _status(gateway.url, access.api_key) == 401
    assert _status(gateway.url, "sk-made-up") == 401


def test_the_real_key_is_nowhere_the_agent_can_look(
    task: ProjectPaths, run_task: TrialRunner, provider: tuple[FakeOpenAIServer, Any, str]
) -> None:
    server, settings, real_key = provider
    server.push(text_reply("ok"))
    found: dict[str, Any] = {}

    def look(sandbox: Sandbox, context: AgentContext) -> None:
        """From outside (not through the audited sandbox, so the real key never lands in
        commands.jsonl): the container's configured environment, every process's, every
        file."""
        (main,) = client().containers.list(
            filters={
                "label": [
                    f"{LABEL_JOB}={JOB}",
                    f"{LABEL_TRIAL}=touch-file__2",
                    f"{LABEL_ROLE}=main",
                ]
            }
        )
        found["config_env"] = "\n".join(main.attrs["Config"]["Env"] or [])
        found["gateway_env"] = sandbox.exec("env").stdout
        grep = main.exec_run(
            [
                "sh",
                "-c",
                f"cat /proc/*/environ | tr '\\0' '\\n'; grep -rIl -F {real_key} / "
                "--exclude-dir=proc --exclude-dir=sys --exclude-dir=dev; echo grep-exit=$?",
            ]
        )
        found["scan"] = grep.output.decode("utf-8", "replace")
        found["admin"] = "\n".join(
            sandbox.exec(_request(context, path)).stdout for path in ("/model/info", "/config/yaml")
        )

    GatewayCaller.on_run = look
    try:
        result, paths = run_task(
            "touch-file", AGENT, job=JOB, attempt=2, model=MODEL, provider_settings=settings
        )
    finally:
        GatewayCaller.on_run = None
    assert result.outcome == Outcome.GRADED, result.exception
    assert "grep-exit=1" in found["scan"], found["scan"][-2000:]  # grep found no file
    for where, text in found.items():
        assert real_key not in text, where
    statuses = [line[:3] for line in found["admin"].splitlines() if line[:3].isdigit()]
    assert statuses == ["401", "401"], found["admin"]  # the proxy's admin routes refuse it
    for artifact in paths.dir.rglob("*"):
        if artifact.is_file():
            assert real_key not in artifact.read_text(errors="replace"), artifact


def _request(context: AgentContext, path: str) -> str:
    from tests.runtime.gateway_agents import request

    assert context.gateway is not None
    return request(context.gateway, path)


def test_provider_faults_are_retried_within_budget_and_fail_the_trial_past_it(
    task: ProjectPaths, run_task: TrialRunner, provider: tuple[FakeOpenAIServer, Any, str]
) -> None:
    server, settings, _ = provider
    # Within budget (2 retries a call): a 429 then a 500, then a dropped connection.
    server.push(
        error_reply(429, "slow down", error_type="rate_limit_error", retry_after=0),
        error_reply(500),
        text_reply("after two faults"),
        drop_reply(),
        text_reply("after a dropped connection"),
    )
    result, paths = run_task(
        "touch-file",
        AGENT,
        job=JOB,
        attempt=3,
        model=MODEL,
        provider_settings=settings,
        calls="chat,chat",
    )
    assert result.outcome == Outcome.GRADED, result.exception
    first, second = _outputs(paths.commands)
    assert first.startswith("200") and "after two faults" in first, first
    assert second.startswith("200") and "after a dropped connection" in second, second
    usage = result.usage
    assert (usage.calls, usage.retries) == (2, 3), usage
    # Every failed attempt is counted; LiteLLM does not report every one it retries (the
    # dropped connection): those count as kind `other`.
    assert sum(usage.errors.values()) == 3, usage.errors
    assert set(usage.errors) <= {"rate_limit", "server_error", "other"}, usage.errors
    # Past budget: three 500s in a row for one call, as for `sre`, a provider_error.
    server.push(error_reply(500), error_reply(500), error_reply(500))
    result, paths = run_task(
        "touch-file",
        AGENT,
        job=JOB,
        attempt=4,
        model=MODEL,
        provider_settings=settings,
        calls="chat",
    )
    assert result.outcome == Outcome.PROVIDER_ERROR, result
    assert result.exception is not None and "server_error" in result.exception.message
    errors = result.usage.errors
    assert sum(errors.values()) == 3 and errors.get("server_error", 0) >= 1, errors
    assert set(errors) <= {"server_error", "other"}, errors
    assert (result.usage.calls, result.usage.retries) == (1, 2)
