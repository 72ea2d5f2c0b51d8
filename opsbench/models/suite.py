"""Suite files: `suites/<name>.yaml`, a matrix of variants run side by side.

A suite file may set anything a job can (`JobSettings`: provider limits, resource
overrides, the judge, agent options...) for every variant, and each variant may set the
same fields again for itself; `requests()` merges the two into one `JobRequest` per
variant and reasoning effort.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from opsbench.models.job import (
    DEFAULT_AGENT,
    JobRequest,
    JobSettings,
    check_effort,
    check_provider_model,
)


class SuiteEntry(JobSettings):
    """One row of the matrix: a model at one or more reasoning efforts."""

    model: str | None = None
    reasoning_effort: list[str] = Field(default_factory=lambda: ["off"], min_length=1)
    agent: str | None = None

    _model = field_validator("model")(check_provider_model)

    @field_validator("reasoning_effort")
    @classmethod
    def _efforts(cls, values: list[str]) -> list[str]:
        return [check_effort(v) for v in values]


class Suite(JobSettings):
    schema_version: int = 1
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""
    agent: str = DEFAULT_AGENT
    variants: list[SuiteEntry] = Field(min_length=1)

    def requests(self) -> list[JobRequest]:
        """One request per variant and effort, in file order: the entry's fields win."""
        shared = self.model_dump(
            exclude_unset=True, exclude={"schema_version", "name", "description", "variants"}
        )
        out = []
        for entry in self.variants:
            own = entry.model_dump(exclude_unset=True, exclude={"reasoning_effort"})
            merged: dict[str, Any] = {**shared, **own}
            merged["provider"] = {**shared.get("provider", {}), **own.get("provider", {})}
            merged["agent_kwargs"] = {
                **shared.get("agent_kwargs", {}),
                **own.get("agent_kwargs", {}),
            }
            merged["agent"] = entry.agent or self.agent
            for effort in entry.reasoning_effort:
                out.append(JobRequest.model_validate({**merged, "reasoning_effort": effort}))
        return out
