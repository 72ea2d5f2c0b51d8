"""What an agent must know about a run beyond the ticket: the scenario time, the sidecars
it can reach, and (under Harbor) where its answer goes.

opsbench appends these notes for its own run when the agent starts (each job has its own
scenario clock). A task run by Harbor itself gets no such help, so the compiler writes
Harbor's notes into `instruction.md`: Harbor's fixed scenario time, and for question tasks
the answer file, since Harbor hands its verifier no final message. opsbench takes Harbor's
notes off again before adding its own (`for_opsbench`), so an agent sees one clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsbench.models.spec import TaskSpec

HARBOR_SCENARIO_TIME = "2026-01-01T12:00:00Z"
"""The scenario clock of a task run by Harbor itself. opsbench gives every job its own
clock (`scenario_time.txt`); a Harbor task directory must carry one, and compiling twice
must give the same bytes, so it is fixed. The sidecar makes its data for it (the compose
file names it), the instruction states it and `tests/test.sh` grades at it."""
HARBOR_SEED = 0
"""The telemetry seed under Harbor (opsbench's default seed too)."""
ANSWER_FILE = "/logs/agent/answer.txt"
"""Under Harbor, the final answer the in-container grader reads (Harbor's own oracle
leaves the solution's stdout in /logs/agent/oracle.txt, read when this file is absent)."""
HARBOR_ORACLE_LOG = "/logs/agent/oracle.txt"


def needs_answer(spec: TaskSpec) -> bool:
    """The task grades a final answer (answer or transcript checks)."""
    return any(c.kind in ("answer", "transcript") for c in spec.checks)


def notes(spec: TaskSpec, stamp: str, *, harbor: bool) -> str:
    """The notes for a run at scenario time `stamp` (RFC 3339); '' when there are none."""
    env = spec.environment
    lines: list[str] = []
    if env.sidecars or env.custom_sidecars:
        lines += [
            f"The current time in this scenario is {stamp}. Telemetry ends at that instant: "
            "query at it (Prometheus `time=` parameter, or ranges ending at it), not at the "
            "wall clock.",
            "Reachable from this machine:",
        ]
        if "o11y" in env.sidecars:
            lines += [
                "- Prometheus: http://o11y:9090 (HTTP API: /api/v1/query, /api/v1/query_range, "
                "/api/v1/series, /api/v1/labels)",
                "- application logs: http://o11y:9080/logs/ (one file per service; filters "
                "grep=, level=, since=, until=, tail=), also under /var/log/apps/",
            ]
        lines += [f"- {c.name}: http://{c.name}:{c.port}" for c in env.custom_sidecars]
    if harbor and needs_answer(spec):
        lines.append(
            f"Write your final answer to {ANSWER_FILE} as well: the grader reads it there."
        )
    return "\n".join(["", "---", *lines]) + "\n" if lines else ""


def for_opsbench(text: str, spec: TaskSpec, stamp: str) -> str:
    """`instruction.md` as compiled (Harbor's notes) turned into this run's instruction."""
    harbor = notes(spec, HARBOR_SCENARIO_TIME, harbor=True)
    return text.removesuffix(harbor) + notes(spec, stamp, harbor=False)
