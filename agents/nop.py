"""`nop`: does nothing. Calibration: every task must score 0 on the task gate with it."""

from __future__ import annotations

from opsbench.agent import Agent, AgentContext
from opsbench.models.trajectory import AtifAgent, TrajectoryWriter
from opsbench.sandbox import Sandbox


class NopAgent(Agent):
    name = "nop"
    version = "1"

    def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        writer = TrajectoryWriter(
            context.trajectory_path, AtifAgent(name=self.name, version=self.version)
        )
        writer.add(source="user", message=instruction)
        writer.add(source="agent", message="(nop agent: no action taken)")
        writer.finish(final_answer="")
