"""Host-side grading of one trial: checks, compliance, rubric, then the score.

Runs on the host after the agent is done; judge credentials never enter a container.
Deterministic checks need the live environment, so their verdicts and raw evidence are
captured at verify time into `verifier/evidence.json`; a regrade reuses that evidence
(the environment is gone) and re-evaluates compliance, the rubric and the diagnostics
(`grading.diagnostics`, which never change the score).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from grading.checks import (
    CheckContext,
    Exec,
    FileReader,
    ProcessLister,
    SeenOutput,
    run_check,
)
from grading.compliance import RuleInputs, evaluate_rule
from grading.diagnostics import diagnose
from grading.facts import resolve_facts
from grading.scoring import Component, score
from opsbench.models.spec import TaskSpec
from opsbench.models.trajectory import Trajectory
from opsbench.models.verdict import CriterionVerdict, Evidence, GradingDetails
from opsbench.sandbox import CommandRecord

Judge = Callable[[TaskSpec, Trajectory | None, dict[str, str]], list[CriterionVerdict]]
"""(spec, trajectory, facts) -> one verdict per rubric criterion (see `ungraded`)."""


@dataclass
class GradingInput:
    spec: TaskSpec
    commands: list[CommandRecord]
    trajectory: Trajectory | None
    exec: Exec | None = None
    """The trusted verifier's exec; None on regrade (verdicts come from `saved_evidence`)."""
    task_exec: Exec | None = None
    """The task container's own exec, for `in_task` checks only."""
    read_file: FileReader | None = None
    processes: ProcessLister | None = None
    nonce: str = ""
    scenario_time: float | None = None
    saved_evidence: Evidence | None = None
    judge: Judge | None = None
    facts: dict[str, str] = field(default_factory=dict)


@dataclass
class GradingResult:
    details: GradingDetails
    """What `verifier/grading_details.json` holds; `details.score` is the trial's rewards."""
    evidence: Evidence


def ungraded(spec: TaskSpec, reason: str) -> list[CriterionVerdict]:
    return [CriterionVerdict.ungraded(c, reason) for c in spec.rubric]


def grade(inp: GradingInput) -> GradingResult:
    spec = inp.spec
    final_answer = inp.trajectory.final_answer() if inp.trajectory else ""
    if inp.exec is not None:
        ctx = CheckContext(
            exec=inp.exec,
            task_exec=inp.task_exec,
            read_file=inp.read_file,
            processes=inp.processes,
            nonce=inp.nonce,
            scenario_time=inp.scenario_time,
            final_answer=final_answer,
            observations=_observations(inp),
        )
        checks = [run_check(c, ctx) for c in spec.checks]
        facts = {**resolve_facts(spec.rubric, ctx), **inp.facts}
        evidence = Evidence(spec=spec, checks=checks, facts=facts)
    else:
        if inp.saved_evidence is None:
            raise ValueError("regrade needs the evidence captured at verify time")
        evidence = inp.saved_evidence
        checks = evidence.checks
    inputs = RuleInputs.of(inp.commands, inp.trajectory)
    rules = [evaluate_rule(r, inputs) for r in spec.compliance]
    if not spec.rubric:
        rubric: list[CriterionVerdict] = []
    elif inp.judge is None:
        rubric = ungraded(spec, "no judge model configured")
    else:
        rubric = inp.judge(spec, inp.trajectory, evidence.facts)
    rubric = [v.model_copy(update={"fact": evidence.facts.get(v.name)}) for v in rubric]
    components = [Component(c.weight, c.passed) for c in checks]
    components += [Component(r.weight, r.passed) for r in rubric]
    result = score(components, [r.passed for r in rules], spec.pass_threshold)
    diagnostics = diagnose(spec, inp.commands, inp.trajectory, task_passed=result.task)
    details = GradingDetails(
        checks=checks, compliance=rules, rubric=rubric, score=result, diagnostics=diagnostics
    )
    return GradingResult(details, evidence)


def _observations(inp: GradingInput) -> list[SeenOutput]:
    """Grounding reads the audit record opsbench wrote, never the agent's own trajectory."""
    return [SeenOutput(c.command, f"{c.stdout}\n{c.stderr}") for c in inp.commands]
