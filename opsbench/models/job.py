"""Job settings and config: what a job may be asked to do, and `jobs/<job>/config.json`.

`JobSettings` is everything a job can set besides its variant; command-line flags
(`JobRequest`) and suite files (`Suite`, `SuiteEntry`) both carry it, so a suite can set
whatever a job can. `opsbench.jobconfig` turns a request into the `JobConfig` a run
saves: the identity a resume must match.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from opsbench.models.provider import REASONING_EFFORTS, ProviderSettings

JOB_CONFIG_SCHEMA_VERSION = 1
DEFAULT_AGENT = "sre"
PROVIDER_MODEL_PATTERN = r"[A-Za-z0-9_.-]+/[A-Za-z0-9_./:@-]+"


def check_provider_model(value: str | None) -> str | None:
    """`provider/model` (what LiteLLM routes on), or None."""
    if value is not None and not re.fullmatch(PROVIDER_MODEL_PATTERN, value):
        raise ValueError(f"provider/model (e.g. openai/gpt-4o-mini), found {value!r}")
    return value


def check_effort(value: str) -> str:
    if value not in REASONING_EFFORTS:
        raise ValueError(f"one of {', '.join(REASONING_EFFORTS)}, found {value!r}")
    return value


class Variant(BaseModel):
    """provider/model + reasoning effort + agent + attempts: what a job measures."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = None
    reasoning_effort: str = "off"
    agent: str = DEFAULT_AGENT
    n_attempts: int = Field(3, ge=1)

    _model = field_validator("model")(check_provider_model)
    _effort = field_validator("reasoning_effort")(check_effort)

    def job_name(self) -> str:
        """`openai-gpt-5-4-nano-off-k3`, `...-off-opencode-k3`, import paths as alnum runs."""
        parts = [_slug(self.model) if self.model else "no-model", self.reasoning_effort]
        if self.agent != DEFAULT_AGENT:
            parts.append(_agent_slug(self.agent))
        parts.append(f"k{self.n_attempts}")
        return "-".join(parts)


def _slug(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[/.:@_ ]", "-", text)).strip("-").lower()


def _agent_slug(agent: str) -> str:
    if ":" in agent or "." in agent:
        return "-".join(re.findall(r"[a-z0-9]+", agent.lower()))
    return _slug(agent)


class JobSettings(BaseModel):
    """Everything a job can set besides its variant's model, effort and agent.

    Flags and suite files both carry these fields; in a suite, a variant's own value wins
    over the file's (the provider limits field by field).
    """

    model_config = ConfigDict(extra="forbid")

    agent_kwargs: dict[str, Any] = Field(default_factory=dict)
    n_attempts: int = Field(3, ge=1)
    task_names: list[str] = Field(default_factory=list)
    override_cpus: float | None = Field(None, gt=0, le=64)
    override_memory_mb: int | None = Field(None, ge=32, le=65536)
    agent_timeout_multiplier: float = Field(1.0, gt=0)
    judge_model: str | None = None
    seed: int = 0
    provider: ProviderSettings = Field(default_factory=ProviderSettings)

    _judge = field_validator("judge_model")(check_provider_model)


class JobRequest(JobSettings):
    """One job as asked for on the command line (or one expanded suite variant)."""

    model: str | None = None
    reasoning_effort: str = "off"
    agent: str = DEFAULT_AGENT
    job_name: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    n_concurrent: int = Field(1, ge=1)

    _model = field_validator("model")(check_provider_model)
    _effort = field_validator("reasoning_effort")(check_effort)


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
    provider_settings: ProviderSettings = Field(default_factory=ProviderSettings)
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
