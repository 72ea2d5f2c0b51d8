"""Host-side grading of one trial: checks, compliance, rubric, then the score.

Runs on the host after the agent is done; judge credentials never enter a container.
Deterministic checks need the live environment, so their verdicts and raw evidence are
captured at verify time into `verifier/evidence.json`; a regrade reuses that evidence
(the environment is gone) and re-evaluates compliance and the rubric.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from grading.checks import CheckContext, Exec, run_check
from grading.compliance import evaluate_rule
from grading.facts import resolve_facts
from grading.scoring import Component, Score, score
from opsbench.models.trajectory import Trajectory
from opsbench.sandbox import CommandRecord

Judge = Callable[[dict[str, Any], Trajectory | None, dict[str, str]], list[dict[str, Any]]]
"""(spec, trajectory, facts) -> one verdict dict per rubric criterion (see `ungraded`)."""


@dataclass
class GradingInput:
    spec: dict[str, Any]
    commands: list[CommandRecord]
    trajectory: Trajectory | None
    exec: Exec | None = None
    """None on regrade: check verdicts come from `saved_evidence`."""
    scenario_time: float | None = None
    saved_evidence: dict[str, Any] | None = None
    judge: Judge | None = None
    facts: dict[str, str] = field(default_factory=dict)


@dataclass
class GradingResult:
    score: Score
    details: dict[str, Any]
    evidence: dict[str, Any]


def ungraded(spec: dict[str, Any], reason: str) -> list[dict[str, Any]]:
    return [
        {
            "name": c["name"],
            "criterion": c["criterion"],
            "weight": c["weight"],
            "verdict": "ungraded",
            "explanation": reason,
        }
        for c in spec.get("rubric", [])
    ]


def grade(inp: GradingInput) -> GradingResult:
    spec = inp.spec
    final_answer = inp.trajectory.final_answer() if inp.trajectory else ""
    if inp.exec is not None:
        ctx = CheckContext(
            exec=inp.exec,
            scenario_time=inp.scenario_time,
            final_answer=final_answer,
            tool_outputs=_tool_outputs(inp),
        )
        checks = [run_check(c, ctx).to_dict() for c in spec.get("checks", [])]
        facts = {**resolve_facts(spec.get("rubric", []), ctx), **inp.facts}
        evidence: dict[str, Any] = {"spec": spec, "checks": checks, "facts": facts}
    else:
        if inp.saved_evidence is None:
            raise ValueError("regrade needs the evidence captured at verify time")
        evidence = inp.saved_evidence
        checks = list(evidence.get("checks", []))
    rules = [
        evaluate_rule(r, inp.commands, final_answer).to_dict() for r in spec.get("compliance", [])
    ]
    if not spec.get("rubric"):
        rubric: list[dict[str, Any]] = []
    elif inp.judge is None:
        rubric = ungraded(spec, "no judge model configured")
    else:
        rubric = inp.judge(spec, inp.trajectory, evidence.get("facts", {}))
    components = [Component(float(c["weight"]), bool(c["passed"])) for c in checks]
    components += [
        Component(float(r["weight"]), None if r["verdict"] == "ungraded" else r["verdict"] == "yes")
        for r in rubric
    ]
    result = score(components, [r["passed"] for r in rules], float(spec.get("pass_threshold", 1)))
    details = {"checks": checks, "compliance": rules, "rubric": rubric, "score": result.to_dict()}
    return GradingResult(result, details, evidence)


def _tool_outputs(inp: GradingInput) -> list[str]:
    outputs = [c.stdout for c in inp.commands] + [c.stderr for c in inp.commands]
    if inp.trajectory is not None:
        outputs += inp.trajectory.tool_outputs()
    return outputs
