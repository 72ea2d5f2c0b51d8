"""Job config: `jobs/<job>/config.json`, the identity a resume must match."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

JOB_CONFIG_SCHEMA_VERSION = 1
EFFORTS = ("off", "low", "medium", "high")


class Variant(BaseModel):
    """provider/model + reasoning effort + agent + attempts: what a job measures."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = None
    reasoning_effort: str = "off"
    agent: str = "sre"
    n_attempts: int = Field(3, ge=1)

    @field_validator("model")
    @classmethod
    def _provider_model(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_./:@-]+", v):
            raise ValueError(f"provider/model (e.g. openai/gpt-4o-mini), found {v!r}")
        return v

    @field_validator("reasoning_effort")
    @classmethod
    def _effort(cls, v: str) -> str:
        if v not in EFFORTS:
            raise ValueError(f"one of {', '.join(EFFORTS)}, found {v!r}")
        return v

    def job_name(self) -> str:
        """`openai-gpt-5-4-nano-off-k3`, `...-off-opencode-k3`, import paths as alnum runs."""
        parts = [_slug(self.model) if self.model else "no-model", self.reasoning_effort]
        if self.agent != "sre":
            parts.append(_agent_slug(self.agent))
        parts.append(f"k{self.n_attempts}")
        return "-".join(parts)


def _slug(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[/.:@_ ]", "-", text)).strip("-").lower()


def _agent_slug(agent: str) -> str:
    if ":" in agent or "." in agent:
        return "-".join(re.findall(r"[a-z0-9]+", agent.lower()))
    return _slug(agent)


class JobConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = JOB_CONFIG_SCHEMA_VERSION
    job_name: str
    variant: Variant
    agent_kwargs: dict[str, Any] = Field(default_factory=dict)
    override_cpus: float | None = None
    override_memory_mb: int | None = None
    agent_timeout_multiplier: float = 1.0
    judge_model: str | None = None
    seed: int = 0
    provider_settings: dict[str, Any] = Field(default_factory=dict)
    # Drift allowed on resume:
    n_concurrent: int = 1
    task_names: list[str] = Field(default_factory=list)
    opsbench_version: str = ""

    SEMANTIC: ClassVar[tuple[str, ...]] = (
        "variant",
        "agent_kwargs",
        "override_cpus",
        "override_memory_mb",
        "agent_timeout_multiplier",
        "judge_model",
        "seed",
        "provider_settings",
    )

    def differences(self, other: JobConfig) -> list[str]:
        """Semantic fields that differ (a resume must not mix them)."""
        diffs = []
        for name in self.SEMANTIC:
            a, b = getattr(self, name), getattr(other, name)
            if isinstance(a, BaseModel) and isinstance(b, BaseModel):
                for sub in type(a).model_fields:
                    if getattr(a, sub) != getattr(b, sub):
                        diffs.append(f"{name}.{sub}: {getattr(b, sub)!r} → {getattr(a, sub)!r}")
            elif a != b:
                diffs.append(f"{name}: {b!r} → {a!r}")
        return diffs
