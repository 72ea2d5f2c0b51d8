"""The agent phase's side of the model gateway: a trial key for agents with `uses_gateway`.

Before the agent runs: the job's gateway (started by the first trial that needs it) joins
the trial's network and the trial gets its own virtual key (`context.gateway`). When the
agent phase ends, however it ends, the key is revoked: nothing the agent left running can
call a model while the trial is graded. The gateway leaves the trial's network at
teardown. Usage lands in the trial's counters as each call is made.
"""

from __future__ import annotations

from opsbench.agent import Agent
from opsbench.failures import InfraError
from opsbench.gateway.gateway import GATEWAY_ALIAS, Gateway, TrialLease
from opsbench.gateway.jobs import gateway_for
from opsbench.providers.errors import ProviderConfigError
from opsbench.trial.state import TrialState


def open_lease(state: TrialState, agent_cls: type[Agent]) -> tuple[Gateway, TrialLease] | None:
    """The trial's key, or None for agents that call no model from the container."""
    if not agent_cls.uses_gateway:
        return None
    cfg = state.config
    if not cfg.model:
        raise ProviderConfigError(f"agent {cfg.agent!r} calls a model: pass --model provider/name")
    if state.env is None:
        raise InfraError("the trial environment was not provisioned")
    gateway = gateway_for(cfg.job_name, cfg.model, cfg.provider_settings)
    state.env.connect(gateway.container_id, GATEWAY_ALIAS)
    lease = gateway.issue(cfg.trial_name, state.usage)
    state.log(f"model gateway: {lease.access.base_url} serves {lease.access.model} (trial key)")
    return gateway, lease


def close_lease(state: TrialState, opened: tuple[Gateway, TrialLease] | None) -> None:
    if opened is None:
        return
    gateway, lease = opened
    gateway.revoke(lease)
    usage = lease.usage
    state.log(
        f"model gateway: trial key revoked after {usage.calls} call(s), "
        f"{usage.retries} retries, {usage.input_tokens}+{usage.output_tokens} tokens"
    )
