"""Trial result: `jobs/<job>/<trial>/result.json`, written last and atomically."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from opsbench.models.verdict import DiagnosticsVerdict
from opsbench.models.verdict import Rewards as Rewards  # TrialResult.rewards' type

RESULT_SCHEMA_VERSION = 1


class Outcome(StrEnum):
    """How a trial ended. `opsbench.failures` says what each one means for scores."""

    GRADED = "graded"
    AGENT_ERROR = "agent_error"
    AGENT_TIMEOUT = "agent_timeout"
    PROVIDER_ERROR = "provider_error"
    INFRA_ERROR = "infra_error"
    CANCELLED = "cancelled"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PhaseTiming(Model):
    started_at: datetime
    finished_at: datetime | None = None
    seconds: float | None = None
    ok: bool | None = None


class ExceptionInfo(Model):
    type: str
    message: str
    phase: str
    traceback: str = ""


class UsageCounters(Model):
    """Model usage for the trial, from the provider layer."""

    calls: int = 0
    retries: int = 0
    errors: dict[str, int] = Field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    provider_wait_sec: float = 0.0


class VariantInfo(Model):
    model: str | None
    reasoning_effort: str
    agent: str


class TrialResult(Model):
    schema_version: int = RESULT_SCHEMA_VERSION
    trial_name: str
    job_name: str = ""
    task_id: str
    attempt: int
    task_checksum: str
    category: str = ""
    difficulty: str = ""
    variant: VariantInfo
    outcome: Outcome
    started_at: datetime
    finished_at: datetime
    phases: dict[str, PhaseTiming] = Field(default_factory=dict)
    exception: ExceptionInfo | None = None
    rewards: Rewards | None = None
    diagnostics: DiagnosticsVerdict | None = Field(
        None,
        description="As in grading_details.json for a graded trial; computed from the "
        "audit record and trajectory for agent_error and agent_timeout trials too.",
    )
    usage: UsageCounters = Field(default_factory=UsageCounters)
    opsbench_version: str = ""
    extra: dict[str, Any] = Field(default_factory=dict)
