"""A trial's artifacts on disk, read for the view's drill-down (when the job is here).

The store keeps verdicts, not transcripts: the trajectory, the command audit record and
the full grading details are read from the job directory the store recorded, if it is
still on this machine. Long texts are clipped; the raw files are linked.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsbench.paths import TrialPaths
from opsbench.sandbox import CommandRecord, read_commands

CLIP = 20_000


def clip(text: str, limit: int = CLIP) -> str:
    if len(text) <= limit:
        return text
    return (
        text[: limit // 2]
        + f"\n… {len(text) - limit:,} characters clipped …\n"
        + text[-limit // 2 :]
    )


@dataclass(frozen=True)
class StepView:
    step_id: int
    source: str
    message: str
    reasoning: str
    calls: list[str]
    observations: list[str]


@dataclass
class TrialArtifacts:
    dir: Path
    instruction: str | None = None
    steps: list[StepView] = field(default_factory=list)
    commands: list[CommandRecord] = field(default_factory=list)
    grading_details: str | None = None
    log_tail: str | None = None
    files: list[str] = field(default_factory=list)


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _steps(raw: str | None) -> list[StepView]:
    try:
        doc = json.loads(raw) if raw else None
    except ValueError:
        return []
    steps = doc.get("steps") if isinstance(doc, dict) else None
    out = []
    for s in steps if isinstance(steps, list) else []:
        if not isinstance(s, dict):
            continue
        calls = [
            f"{c.get('function_name', '?')} {json.dumps(c.get('arguments', {}), ensure_ascii=False)}"
            for c in s.get("tool_calls") or []
            if isinstance(c, dict)
        ]
        results = (s.get("observation") or {}).get("results") or []
        observations = [
            clip(str(r.get("content") or ""), 4000) for r in results if isinstance(r, dict)
        ]
        out.append(
            StepView(
                step_id=int(s.get("step_id") or 0),
                source=str(s.get("source") or ""),
                message=clip(_as_text(s.get("message"))),
                reasoning=clip(_as_text(s.get("reasoning_content"))),
                calls=calls,
                observations=observations,
            )
        )
    return out


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def read_trial(job_path: str | None, trial_name: str) -> TrialArtifacts | None:
    """The trial's artifacts, or None when its directory is not on this machine."""
    if not job_path:
        return None
    paths = TrialPaths(Path(job_path) / trial_name)
    if not paths.dir.is_dir():
        return None
    details = _text(paths.grading_details)
    if details is not None:
        with contextlib.suppress(ValueError):
            details = json.dumps(json.loads(details), indent=2, ensure_ascii=False)
    log = _text(paths.log)
    return TrialArtifacts(
        dir=paths.dir,
        instruction=_text(paths.instruction),
        steps=_steps(_text(paths.trajectory)),
        commands=read_commands(paths.commands),
        grading_details=clip(details) if details is not None else None,
        log_tail=log[-CLIP:] if log else None,
        files=sorted(str(p.relative_to(paths.dir)) for p in paths.dir.rglob("*") if p.is_file())[
            :200
        ],
    )
