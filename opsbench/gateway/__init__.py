"""The model gateway: one LLM proxy per job that agents in task containers talk to.

CLI agents (Claude Code, Codex, OpenCode, mini-swe-agent) run inside the task container
and call a model themselves. They must never see a real provider key, and their calls
must obey the job's provider limits like the built-in agent's. So the job runs a gateway
joined to each trial's network; the trial gets a virtual key valid for that trial only.

The public API (small on purpose):

- `GatewayAccess` (`access`): what an agent gets in `context.gateway`.
- `Gateway`, `GatewaySpec`, `TrialLease` (`gateway`): start / issue / revoke / close one
  job's gateway; `GATEWAY_ALIAS` is its name on trial networks.
- `gateway_for`, `close_gateways` (`jobs`): the running job's gateway in this process.

Modules: `access` (the agent-side contract), `gateway` (container, networks, proxy
config), `control` (the driver's HTTP side: keys, permits, usage), `jobs` (one per job).
The proxy's hooks live in the image's build context, `environment/gateway/`.
"""

from opsbench.gateway.access import GatewayAccess

__all__ = ["GatewayAccess"]
