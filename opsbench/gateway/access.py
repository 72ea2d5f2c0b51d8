"""What an agent is given to reach models through the gateway (the agent-side contract)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GatewayAccess:
    """One trial's way to the gateway, as seen from inside the task container.

    `api_key` is the trial's virtual key: valid from the agent phase's start until the
    agent phase ends (revoked then, so nothing the agent left running calls a model while
    the trial is graded), and useless anywhere else. The protocol paths under `base_url` are the
    gateway's: OpenAI chat and Responses under `{base_url}/v1`, Anthropic Messages
    under `{base_url}` (`/v1/messages`).
    """

    base_url: str
    """e.g. `http://opsbench-gateway:4000`: resolvable and reachable in the trial network."""
    api_key: str
    model: str
    """The model name to request: the gateway maps it to the job's real `provider/model`."""
