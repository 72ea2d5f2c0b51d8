"""The model gateway: one LLM proxy per job that agents in task containers talk to.

CLI agents (Claude Code, Codex, OpenCode, mini-swe-agent) run inside the task container
and call a model themselves. They must never see a real provider key, and their calls
must obey the job's provider limits like the built-in agent's. So the job runs a gateway
joined to each trial's network; the trial gets a virtual key valid for that trial only.
"""

from opsbench.gateway.access import GatewayAccess

__all__ = ["GatewayAccess"]
