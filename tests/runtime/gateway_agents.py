"""An agent that calls models from inside its task container, through the model gateway,
the way the installed CLI agents do: curl with the trial's virtual key, one request per
protocol the gateway speaks (OpenAI chat, OpenAI Responses, Anthropic Messages)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from typing import Any, ClassVar

from opsbench.agent import Agent, AgentContext
from opsbench.gateway import GatewayAccess
from opsbench.sandbox import Sandbox


def request(access: GatewayAccess, protocol: str, key: str | None = None) -> str:
    """A shell command making one model call; prints the HTTP status, then the body."""
    key = key or access.api_key
    if protocol == "chat":
        url = f"{access.base_url}/v1/chat/completions"
        body: dict[str, Any] = {
            "model": access.model,
            "messages": [{"role": "user", "content": "hi"}],
        }
        headers = ["Authorization: Bearer " + key]
    elif protocol == "responses":
        url = f"{access.base_url}/v1/responses"
        body = {"model": access.model, "input": "hi"}
        headers = ["Authorization: Bearer " + key]
    elif protocol == "messages":
        url = f"{access.base_url}/v1/messages"
        body = {
            "model": access.model,
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "hi"}],
        }
        headers = ["x-api-key: " + key, "anthropic-version: 2023-06-01"]
    elif protocol.startswith("http"):  # a whole URL elsewhere (the provider itself)
        url = protocol
        body = {"model": access.model, "messages": [{"role": "user", "content": "hi"}]}
        headers = ["Authorization: Bearer " + key]
    else:  # a GET of a raw path on the gateway: /model/info, /config/yaml
        auth = shlex.quote("Authorization: Bearer " + key)
        return (
            f"curl -sS -m 120 -o /tmp/answer.json -w '%{{http_code}}\\n' -H {auth} "
            f"{shlex.quote(access.base_url + protocol)}; cat /tmp/answer.json"
        )
    flags = " ".join(f"-H {shlex.quote(h)}" for h in [*headers, "content-type: application/json"])
    return (
        f"curl -sS -m 120 --connect-timeout 5 -o /tmp/answer.json -w '%{{http_code}}\\n' {flags} "
        f"-d {shlex.quote(json.dumps(body))} {shlex.quote(url)}; cat /tmp/answer.json"
    )


class GatewayCaller(Agent):
    """`--agent-kwarg calls=chat,responses,messages`: one call each, in order.

    `on_run`, when a test sets it, runs after the calls with the agent's sandbox and
    context (to look at the container from outside while the trial is live)."""

    name = "gateway-caller"
    uses_gateway = True
    seen: ClassVar[list[GatewayAccess]] = []
    on_run: ClassVar[Callable[[Sandbox, AgentContext], None] | None] = None

    def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        access = context.gateway
        if access is None:
            raise RuntimeError("no gateway access: uses_gateway is set, the trial must give one")
        GatewayCaller.seen.append(access)
        for protocol in str(self.config.kwargs.get("calls", "chat")).split(","):
            if protocol:
                sandbox.exec(request(access, protocol), timeout=180)
        if GatewayCaller.on_run is not None:
            GatewayCaller.on_run(sandbox, context)
