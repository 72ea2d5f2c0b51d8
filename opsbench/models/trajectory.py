"""Trajectories in ATIF (the Agent Trajectory Interchange Format Harbor uses).

A subset of ATIF v1.6 sufficient for what opsbench agents record; field names and nesting
follow the format so Harbor's tooling reads our `agent/trajectory.json`. The writer saves
the whole document after every step (atomically), so a crash leaves a readable partial
trajectory.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ATIF_VERSION = "ATIF-v1.6"


class _Atif(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AtifAgent(_Atif):
    name: str
    version: str
    model_name: str | None = None
    tool_definitions: list[dict[str, Any]] | None = None
    extra: dict[str, Any] | None = None


class ToolCall(_Atif):
    tool_call_id: str
    function_name: str
    arguments: dict[str, Any]


class ObservationResult(_Atif):
    source_call_id: str | None = None
    content: str | None = None


class Observation(_Atif):
    results: list[ObservationResult]


class StepMetrics(_Atif):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    cost_usd: float | None = None


class Step(_Atif):
    step_id: int = Field(ge=1)
    timestamp: str | None = None
    source: Literal["system", "user", "agent"]
    model_name: str | None = None
    reasoning_effort: str | None = None
    message: str
    reasoning_content: str | None = None
    tool_calls: list[ToolCall] | None = None
    observation: Observation | None = None
    metrics: StepMetrics | None = None
    extra: dict[str, Any] | None = Field(
        None,
        description="ATIF's custom step metadata; the sre agent lists the tool calls it "
        "could not run under `invalid_tool_calls` (see `grading.diagnostics`).",
    )


class FinalMetrics(_Atif):
    total_prompt_tokens: int | None = None
    total_completion_tokens: int | None = None
    total_cached_tokens: int | None = None
    total_cost_usd: float | None = None
    total_steps: int | None = None
    extra: dict[str, Any] | None = None


class Trajectory(_Atif):
    schema_version: str = ATIF_VERSION
    session_id: str | None = None
    agent: AtifAgent
    steps: list[Step] = Field(default_factory=list)
    notes: str | None = None
    final_metrics: FinalMetrics | None = None
    extra: dict[str, Any] | None = None

    def final_answer(self) -> str:
        """The agent's last message: what the judge and `mention` rules read."""
        if self.extra and isinstance(self.extra.get("final_answer"), str):
            return str(self.extra["final_answer"])
        for step in reversed(self.steps):
            if step.source == "agent" and step.message:
                return step.message
        return ""

    def tool_outputs(self) -> list[str]:
        return [
            r.content
            for s in self.steps
            if s.observation
            for r in s.observation.results
            if r.content
        ]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_json_atomic(path: Path, data: Any) -> None:
    """Write temp, fsync, rename: readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False, default=str)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


class TrajectoryWriter:
    """Appends steps and rewrites `trajectory.json` after each, so crashes lose nothing."""

    def __init__(self, path: Path, agent: AtifAgent, session_id: str | None = None) -> None:
        self.path = path
        self.trajectory = Trajectory(agent=agent, session_id=session_id)

    def add(self, **fields: Any) -> Step:
        fields.setdefault("timestamp", now_iso())
        step = Step(step_id=len(self.trajectory.steps) + 1, **fields)
        self.trajectory.steps.append(step)
        self.save()
        return step

    def finish(self, final_answer: str | None = None, metrics: FinalMetrics | None = None) -> None:
        if final_answer is not None:
            self.trajectory.extra = {**(self.trajectory.extra or {}), "final_answer": final_answer}
        if metrics is not None:
            self.trajectory.final_metrics = metrics
        self.save()

    def save(self) -> None:
        write_json_atomic(self.path, self.trajectory.model_dump(mode="json", exclude_none=True))


def load_trajectory(path: Path) -> Trajectory | None:
    try:
        return Trajectory.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
