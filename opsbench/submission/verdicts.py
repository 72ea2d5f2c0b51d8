"""The validator's output: one verdict per rule, each problem naming its file; the report.

These models are the JSON report `opsbench submission validate` prints and the leaderboard
reads, so they are strict and versioned like every other file format.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

REPORT_SCHEMA_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(_Strict):
    file: str = Field(description="Path inside the package ('.' for the package itself).")
    message: str


class RuleVerdict(_Strict):
    rule: str
    title: str
    passed: bool
    problems: list[Problem] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    """Findings that do not fail the rule (listed audit flags, counts)."""


class ReleaseRef(_Strict):
    benchmark: str
    version: str
    grader_version: str


class ValidationReport(_Strict):
    schema_version: int = REPORT_SCHEMA_VERSION
    package: str
    release: ReleaseRef
    passed: bool
    trials: int
    rules: list[RuleVerdict]

    def failures(self) -> list[RuleVerdict]:
        return [r for r in self.rules if not r.passed]


def verdict(
    rule: str, title: str, problems: list[Problem], notes: list[str] | None = None
) -> RuleVerdict:
    return RuleVerdict(
        rule=rule, title=title, passed=not problems, problems=problems, notes=notes or []
    )
