"""`oracle`: runs the task's reference solution. Calibration: it must score 1 everywhere.

It runs the text of `solution/solve.sh` as one command through the audited sandbox, so
the shipped solution is what is exercised and its commands are graded for compliance like
any agent's. What the solution prints on stdout is its final answer (question tasks echo
their answer). It is the only agent that reads the task directory. A Harbor task's
solution runs as Harbor runs it: `solution/` uploaded to `/solution`, then `solve.sh`.
"""

from __future__ import annotations

from opsbench.agent import Agent, AgentContext
from opsbench.errors import OpsbenchError
from opsbench.harbor_task import read_materialized
from opsbench.models.trajectory import (
    AtifAgent,
    Observation,
    ObservationResult,
    ToolCall,
    TrajectoryWriter,
)
from opsbench.paths import TaskPaths
from opsbench.sandbox import Sandbox


class OracleAgent(Agent):
    name = "oracle"
    version = "1"

    def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        task = TaskPaths(context.task_dir)
        env: dict[str, str] | None = None
        harbor = read_materialized(task)
        if harbor is None:
            script = task.solve_sh.read_text()
        else:  # as Harbor runs it: solution/ uploaded to /solution, solve.sh run from there
            if not task.solve_sh.is_file():
                raise OpsbenchError(f"{harbor.name}: no solution/solve.sh for the oracle")
            sandbox.upload(task.solution, "/solution")
            script = "bash /solution/solve.sh"
            env = harbor.solution_env or None
        writer = TrajectoryWriter(
            context.trajectory_path, AtifAgent(name=self.name, version=self.version)
        )
        writer.add(source="user", message=instruction)
        out = sandbox.exec(
            script, timeout=float(context.config.kwargs.get("timeout", 600)), user="root", env=env
        )
        output = (out.stdout + out.stderr)[-8000:]
        writer.add(
            source="agent",
            message="Running the reference solution.",
            tool_calls=[
                ToolCall(
                    tool_call_id="solve",
                    function_name="run_shell",
                    arguments={"command": "solution/solve.sh"},
                )
            ],
            observation=Observation(
                results=[
                    ObservationResult(
                        source_call_id="solve", content=f"exit {out.exit_code}\n{output}"
                    )
                ]
            ),
        )
        answer = (
            out.stdout.strip()[-4000:] or f"Applied the reference solution (exit {out.exit_code})."
        )
        writer.finish(final_answer=answer)
        if out.exit_code != 0:
            raise OpsbenchError(f"solution/solve.sh exited {out.exit_code}: {output[-500:]}")
