"""Release manifest: `release.json` at the project root, what a submission is validated against.

A release names the corpus (benchmark and version), pins every task by the checksum its
compile carries (which covers the grader version, so a checksum match also proves the
grader) and by a digest of its graded spec, and states the rules of entry: the minimum
attempts per task and how many audit-flagged passes a submission may hold. It is written
by `opsbench release` and committed; `opsbench release --check` proves it is current.
Imports nothing from the runtime.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

RELEASE_SCHEMA_VERSION = 1
DEFAULT_MIN_ATTEMPTS = 5
DEFAULT_MAX_SUSPECT_FRACTION = 0.05


class ReleaseTask(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    category: str
    checksum: str = Field(description="`[metadata].checksum` of the compiled task.")
    spec_sha256: str = Field(
        description="sha256 of the graded spec (tests/spec.json) as canonical JSON: the spec "
        "a trial's saved evidence must carry for its rewards to be recomputed."
    )


class ReleaseManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = RELEASE_SCHEMA_VERSION
    benchmark: str
    version: str
    grader_version: str
    min_attempts: int = Field(DEFAULT_MIN_ATTEMPTS, ge=1)
    max_suspect_fraction: float = Field(
        DEFAULT_MAX_SUSPECT_FRACTION,
        ge=0,
        le=1,
        description="Largest share of passing trials the audit may flag as suspect.",
    )
    tasks: list[ReleaseTask]

    def task(self, task_id: str) -> ReleaseTask | None:
        return next((t for t in self.tasks if t.id == task_id), None)
