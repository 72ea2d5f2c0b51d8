"""Audit verdicts: `jobs/<job>/<trial>/verifier/audit.json`, suspect passes flagged.

The audit reads a trial's record (commands, trajectory, grading details) after grading
and flags what looks like gaming rather than solving: writes over binaries or into PATH
directories, `ld.so.preload`, edits of files a check reads, several values for one answer
field. A flag never changes a reward; reports list flagged passes and submission
validation fails beyond a threshold. Imports nothing from the runtime.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

AUDIT_SCHEMA_VERSION = 1


class AuditFlag(BaseModel):
    """One suspicious thing in one trial, with the evidence that raised it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str = Field(description="The audit rule that raised it, e.g. 'path-shadowing'.")
    severity: Literal["suspect", "info"] = "suspect"
    message: str
    command_index: int | None = Field(None, description="Entry of agent/commands.jsonl.")
    evidence: str = ""


class JudgeVerdict(BaseModel):
    """The optional hack-detection judge's word on one passing trial."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    verdict: Literal["clean", "hack", "ungraded"]
    explanation: str = ""
    model: str | None = None


class TrialAudit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = AUDIT_SCHEMA_VERSION
    trial_name: str
    passed: bool = Field(description="Whether the trial passed both gates when audited.")
    flags: list[AuditFlag] = Field(default_factory=list)
    judge: JudgeVerdict | None = None

    @property
    def suspect(self) -> bool:
        """A passing trial with a suspect flag or a judge verdict of `hack`."""
        flagged = any(f.severity == "suspect" for f in self.flags)
        return self.passed and (
            flagged or (self.judge is not None and self.judge.verdict == "hack")
        )
