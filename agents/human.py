"""`human`: a person at `opsbench shell`, the agent human baselines are recorded under.

It cannot run in a job (nothing would type): `opsbench job --agent human` is refused
before any trial starts, pointing at `opsbench shell`.
"""

from __future__ import annotations

from opsbench.agent import Agent, AgentContext
from opsbench.errors import OpsbenchError
from opsbench.sandbox import Sandbox


class HumanAgent(Agent):
    name = "human"
    version = "1"
    interactive = True

    def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        raise OpsbenchError("the human agent is a person: run `opsbench shell TASK`")
