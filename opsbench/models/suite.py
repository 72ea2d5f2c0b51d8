"""Suite files: `suites/<name>.yaml`, a matrix of variants run side by side."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from opsbench.models.job import EFFORTS


class SuiteEntry(BaseModel):
    """One row of the matrix: a model at one or more reasoning efforts."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    reasoning_effort: list[str] = Field(default_factory=lambda: ["off"])
    agent: str | None = None
    agent_kwargs: dict[str, Any] = Field(default_factory=dict)


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""
    agent: str = "sre"
    n_attempts: int = Field(3, ge=1)
    judge_model: str | None = None
    task_names: list[str] = Field(default_factory=list)
    variants: list[SuiteEntry] = Field(min_length=1)

    def expand(self) -> list[tuple[str | None, str, str, dict[str, Any]]]:
        """(model, effort, agent, agent_kwargs) for every combination, in file order."""
        rows = []
        for entry in self.variants:
            for effort in entry.reasoning_effort:
                if effort not in EFFORTS:
                    raise ValueError(
                        f"reasoning_effort: one of {', '.join(EFFORTS)}, found {effort!r}"
                    )
                rows.append((entry.model, effort, entry.agent or self.agent, entry.agent_kwargs))
        return rows
