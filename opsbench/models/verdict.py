"""Verdict models: what grading decides, and the verifier files that hold it.

One family from grader to report: `grading.grader.grade` returns these, the trial writes
them (`verifier/grading_details.json`, `verifier/reward.json`, `verifier/evidence.json`),
and regrade, the reports and the metrics read them back with the loaders below. `Rewards`
is also `TrialResult.rewards`: its five fields are declared here and nowhere else.

The in-container (Harbor) grader imports this module from the zip each task carries, so
it imports nothing but pydantic and the spec models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from opsbench.models.spec import Criterion, TaskSpec


class VerdictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckVerdict(VerdictModel):
    """One deterministic check, with the raw evidence it was decided on."""

    name: str
    kind: str
    weight: float
    passed: bool
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)


class RuleVerdict(VerdictModel):
    """One compliance rule. `passed` None: the rule could not be graded (Harbor has no
    audit record); it never fails the compliance gate."""

    name: str
    kind: str
    passed: bool | None
    message: str
    evidence: list[dict[str, Any]] = Field(default_factory=list)


class CriterionVerdict(VerdictModel):
    """One rubric criterion as the judge answered it; `ungraded` is never a NO."""

    name: str
    criterion: str
    weight: float
    verdict: Literal["yes", "no", "ungraded"]
    explanation: str = ""
    fact: str | None = Field(None, description="The canonical fact the judge was given.")

    @property
    def passed(self) -> bool | None:
        return None if self.verdict == "ungraded" else self.verdict == "yes"

    @classmethod
    def ungraded(cls, criterion: Criterion, reason: str) -> CriterionVerdict:
        """A criterion no judge could answer, with why: left out of the reward, never 0."""
        return cls(
            name=criterion.name,
            criterion=criterion.criterion,
            weight=criterion.weight,
            verdict="ungraded",
            explanation=reason,
        )


class Rewards(VerdictModel):
    """The verifier's verdict: two gates, a partial-credit reward, and `passed`."""

    reward: float = Field(ge=0, le=1)
    task: bool
    compliance: bool | None = Field(
        description="None: not applicable (a Harbor task declares no rules), never a pass."
    )
    passed: bool
    partial: bool = Field(False, description="Some components were ungraded (no judge).")


class Provenance(VerdictModel):
    """Who regraded a trial, and where the outputs it replaced went."""

    grader_version: str
    judge_model: str | None
    regraded_at: str
    previous: str


InvalidKind = Literal["malformed_tool_call", "unknown_tool", "command_not_found"]


class EvidenceCoverage(VerdictModel):
    """How much of the declared evidence the agent looked at: `seen` / declared."""

    fraction: float = Field(ge=0, le=1)
    seen: list[str] = Field(default_factory=list)
    missed: list[str] = Field(default_factory=list)


class WrongRemediation(VerdictModel):
    """A harmful action of the spec that the agent executed (first command matching it)."""

    name: str
    command_index: int
    command: str
    times: int = Field(1, ge=1, description="Commands of the audit record that matched.")


class InvalidAction(VerdictModel):
    """An action that could not run as asked: a tool call whose arguments did not parse or
    validate, a tool the agent does not have, or a command the shell did not find.
    `step_id` for tool calls (the trajectory), `command_index` for commands (the audit
    record)."""

    kind: InvalidKind
    step_id: int | None = None
    command_index: int | None = None
    detail: str = ""


class DiagnosticsVerdict(VerdictModel):
    """Why a trial went as it did (SRE-Zero's diagnostics). Never part of the reward.

    `declared` False: the spec declares no diagnostics, so coverage, distractors and
    wrong remediations are not applicable (None); invalid actions are counted anyway.
    """

    declared: bool
    distractors_declared: int = Field(0, ge=0)
    harmful_declared: int = Field(0, ge=0)
    coverage: EvidenceCoverage | None = None
    distractors_investigated: list[str] | None = None
    distractors_followed: list[str] | None = None
    wrong_remediations: list[WrongRemediation] | None = None
    invalid_actions: list[InvalidAction] = Field(default_factory=list)

    @property
    def distractor_followed(self) -> bool | None:
        return None if self.distractors_followed is None else bool(self.distractors_followed)

    def invalid_counts(self) -> dict[str, int]:
        """Invalid actions per kind, every kind present (zero-filled)."""
        kinds: tuple[InvalidKind, ...] = get_args(InvalidKind)
        return {k: sum(a.kind == k for a in self.invalid_actions) for k in kinds}


class GradingDetails(VerdictModel):
    """`verifier/grading_details.json`: every verdict, and the score they add up to."""

    checks: list[CheckVerdict] = Field(default_factory=list)
    compliance: list[RuleVerdict] = Field(default_factory=list)
    rubric: list[CriterionVerdict] = Field(default_factory=list)
    score: Rewards
    diagnostics: DiagnosticsVerdict | None = Field(
        None, description="None where there is no audit record (Harbor's in-container grader)."
    )
    provenance: Provenance | None = None

    def dump(self) -> dict[str, Any]:
        """The file's JSON; `provenance` appears once a regrade sets it, as it always has,
        and `diagnostics` where they were computed."""
        exclude = {k for k in ("provenance", "diagnostics") if getattr(self, k) is None}
        return self.model_dump(mode="json", exclude=exclude)


class Evidence(VerdictModel):
    """`verifier/evidence.json`: what verify saw in the live environment, for regrades.

    The environment is gone after the trial, so check verdicts and resolved facts are kept
    with a copy of the spec they were graded against.
    """

    spec: TaskSpec | None = None
    checks: list[CheckVerdict] = Field(default_factory=list)
    facts: dict[str, str] = Field(default_factory=dict)


def read_grading_details(path: Path) -> GradingDetails:
    """`grading_details.json` as written by verify or regrade (raises OSError, ValueError)."""
    return GradingDetails.model_validate_json(path.read_bytes())


def read_evidence(path: Path) -> Evidence:
    """`evidence.json` as written by verify (raises OSError, ValueError)."""
    return Evidence.model_validate_json(path.read_bytes())
