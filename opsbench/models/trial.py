"""Trial config: `jobs/<job>/<trial>/config.json`, what one attempt was asked to do."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from opsbench.models.provider import ProviderSettings

TRIAL_CONFIG_SCHEMA_VERSION = 1


class TrialConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = TRIAL_CONFIG_SCHEMA_VERSION
    job_name: str
    trial_name: str
    task_id: str
    attempt: int = Field(ge=1)
    task_dir: str
    task_checksum: str
    agent: str = Field(description="Built-in short name or module:Class.")
    model: str | None = None
    reasoning_effort: str = "off"
    agent_kwargs: dict[str, Any] = Field(default_factory=dict)
    scenario_time: datetime
    seed: int = 0
    override_cpus: float | None = None
    override_memory_mb: int | None = None
    agent_timeout_multiplier: float = 1.0
    judge_model: str | None = None
    provider_settings: ProviderSettings = Field(default_factory=ProviderSettings)
