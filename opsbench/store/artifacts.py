"""Read a job directory into store records, without touching the database.

Everything is read first and written after (`opsbench.store.ingest`), so a job is
stored whole or not at all. A trial whose `result.json` is missing is still running (or
was killed) and is not a result; one that is corrupt or partial is skipped and named.
A grading that cannot be read leaves its trial in, without that grading, and is named.
"""

from __future__ import annotations

import hashlib
import json
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from opsbench.clock import parse_time
from opsbench.errors import OpsbenchError
from opsbench.failures import POLICY
from opsbench.models.audit import TrialAudit
from opsbench.models.job import Variant
from opsbench.models.result import Outcome, TrialResult
from opsbench.paths import JobPaths, TrialPaths

MESSAGE_CHARS = 2000
SECTIONS = ("checks", "compliance", "rubric")


@dataclass
class GradingRecord:
    digest: str
    graded_at: datetime
    source: str
    """`current` for verifier/grading_details.json, `history/<stamp>` for a regrade's past."""
    current: bool
    row: dict[str, Any]
    verdicts: list[dict[str, Any]]


@dataclass
class TrialRecord:
    name: str
    row: dict[str, Any]
    gradings: list[GradingRecord]


@dataclass
class JobRecord:
    key: str
    row: dict[str, Any]
    trials: list[TrialRecord] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    """Trials left out (corrupt or partial result.json), with why."""
    notes: dict[str, str] = field(default_factory=dict)
    """Trials stored without a grading that could not be read, with why."""
    unfinished: list[str] = field(default_factory=list)


def job_key(name: str, scenario_time: str) -> str:
    return f"{name}@{scenario_time}"


def variant_key(model: str | None, effort: str, agent: str) -> str:
    """The job-name convention without the attempts: `openai-gpt-4o-mini-off`."""
    v = Variant.model_construct(model=model, reasoning_effort=effort, agent=agent, n_attempts=1)
    return v.job_name().removesuffix("-k1")


def read_job(job_dir: Path) -> JobRecord:
    """The job's record: its row, its finished trials and what was skipped."""
    job = JobPaths(job_dir)
    config = _read_config(job)
    clock = _scenario_clock(job)
    trials: list[TrialRecord] = []
    skipped: dict[str, str] = {}
    notes: dict[str, str] = {}
    unfinished: list[str] = []
    results: list[TrialResult] = []
    for trial_dir in job.trial_dirs():
        paths = TrialPaths(trial_dir)
        try:
            raw = paths.result.read_bytes()
        except FileNotFoundError:
            unfinished.append(trial_dir.name)
            continue
        except OSError as exc:
            skipped[trial_dir.name] = f"result.json unreadable: {exc.strerror}"
            continue
        try:
            result = TrialResult.model_validate_json(raw)
        except ValidationError as exc:
            skipped[trial_dir.name] = f"result.json corrupt or partial: {_first_error(exc)}"
            continue
        results.append(result)
        trials.append(_trial_record(paths, result, notes))
    name = str(config.get("job_name") or job.name)
    return JobRecord(
        key=job_key(name, clock),
        row=_job_row(job, name, clock, config, results),
        trials=trials,
        skipped=skipped,
        notes=notes,
        unfinished=unfinished,
    )


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else str(err["msg"])


def _read_config(job: JobPaths) -> dict[str, Any]:
    try:
        raw = json.loads(job.config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise OpsbenchError(f"{job.config}: unreadable job config: {exc}") from None
    return raw if isinstance(raw, dict) else {}


def _scenario_clock(job: JobPaths) -> str:
    try:
        text = job.scenario_time.read_text(encoding="utf-8").strip()
    except OSError:
        raise OpsbenchError(
            f"{job.scenario_time}: missing; a job's identity in the store is its name and "
            "scenario clock"
        ) from None
    from opsbench.clock import format_time

    return format_time(parse_time(text))


def _config_value(config: dict[str, Any], key: str) -> Any:
    variant = config.get("variant")
    if isinstance(variant, dict) and variant.get(key) not in (None, ""):
        return variant[key]
    return config.get(key)


def _job_row(
    job: JobPaths, name: str, clock: str, config: dict[str, Any], results: list[TrialResult]
) -> dict[str, Any]:
    first = results[0].variant if results else None
    model = _config_value(config, "model") or (first.model if first else None)
    effort = str(_config_value(config, "reasoning_effort") or (first and first.reasoning_effort))
    agent = str(_config_value(config, "agent") or (first.agent if first else "sre"))
    if effort in ("", "None"):
        effort = "off"
    attempts = _config_value(config, "n_attempts")
    versions = sorted({r.opsbench_version for r in results if r.opsbench_version})
    return {
        "name": name,
        "variant": variant_key(model, effort, agent),
        "model": model,
        "reasoning_effort": effort,
        "agent": agent,
        "n_attempts": attempts if isinstance(attempts, int) else None,
        "judge_model": config.get("judge_model"),
        "scenario_time": clock,
        "started_at": min((r.started_at for r in results), default=None),
        "finished_at": max((r.finished_at for r in results), default=None),
        "opsbench_version": config.get("opsbench_version") or (versions[-1] if versions else None),
        "host": socket.gethostname(),
        "path": str(job.dir.resolve()),
        "config": config,
        "n_trials": len(results),
    }


def _trial_record(paths: TrialPaths, r: TrialResult, notes: dict[str, str]) -> TrialRecord:
    scored = POLICY[r.outcome].counts_in_scores
    rw = r.rewards if r.outcome is Outcome.GRADED else None
    gradings = _gradings(paths, r, notes)
    current = next((g for g in gradings if g.current), None)
    audit = _audit(paths)
    row = {
        "trial_name": r.trial_name or paths.dir.name,
        "task_id": r.task_id,
        "attempt": r.attempt,
        "category": r.category,
        "difficulty": r.difficulty,
        "task_checksum": r.task_checksum,
        "outcome": r.outcome.value,
        "scored": scored,
        "passed": bool(scored and rw and rw.passed),
        "task_gate": bool(scored and rw and rw.task),
        "compliance_gate": bool(scored and rw and rw.compliance),
        "reward": rw.reward if scored and rw else 0.0,
        "partial": bool(rw and rw.partial),
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "seconds": max(0.0, (r.finished_at - r.started_at).total_seconds()),
        "phases": {k: v.model_dump(mode="json") for k, v in r.phases.items()},
        "calls": r.usage.calls,
        "input_tokens": r.usage.input_tokens,
        "output_tokens": r.usage.output_tokens,
        "cost_usd": r.usage.cost_usd,
        "exception_type": r.exception.type if r.exception else None,
        "grader_version": current.row["grader_version"] if current else None,
        "opsbench_version": r.opsbench_version or None,
        "audit_flags": len(audit.flags) if audit else None,
        "suspect": audit.suspect if audit else None,
    }
    return TrialRecord(paths.dir.name, row, gradings)


def _audit(paths: TrialPaths) -> TrialAudit | None:
    try:
        return TrialAudit.model_validate_json(paths.audit.read_bytes())
    except (OSError, ValidationError):
        return None


def _gradings(paths: TrialPaths, r: TrialResult, notes: dict[str, str]) -> list[GradingRecord]:
    """The current grading and every earlier one a regrade kept under verifier/history/."""
    sources: list[tuple[str, Path]] = [("current", paths.grading_details)]
    if paths.history.is_dir():
        sources += [
            (f"history/{d.name}", d / "grading_details.json")
            for d in sorted(paths.history.iterdir())
            if d.is_dir()
        ]
    out = []
    for source, path in sources:
        try:
            raw = path.read_bytes()
        except OSError:
            continue
        try:
            details = json.loads(raw)
            if not isinstance(details, dict):
                raise ValueError("not a JSON object")
            out.append(_grading(source, raw, details, r))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            notes[paths.dir.name] = f"{path.relative_to(paths.dir)} unreadable: {exc}"
    return out


def _grading(source: str, raw: bytes, details: dict[str, Any], r: TrialResult) -> GradingRecord:
    provenance = details.get("provenance") if isinstance(details.get("provenance"), dict) else {}
    assert isinstance(provenance, dict)
    when = provenance.get("regraded_at")
    if source == "current" and not when:
        when = r.extra.get("regraded_at")
    graded_at = parse_time(str(when)) if when else r.finished_at
    score = details.get("score") if isinstance(details.get("score"), dict) else {}
    assert isinstance(score, dict)
    return GradingRecord(
        digest=hashlib.sha256(raw).hexdigest(),
        graded_at=graded_at,
        source=source,
        current=source == "current",
        row={
            "reward": _float(score.get("reward")),
            "task_gate": _bool(score.get("task")),
            "compliance_gate": _bool(score.get("compliance")),
            "passed": _bool(score.get("passed")),
            "grader_version": _str(
                provenance.get("grader_version") or details.get("grader_version")
            ),
            "judge_model": _str(provenance.get("judge_model")),
        },
        verdicts=[v for section in SECTIONS for v in _verdicts(section, details.get(section))],
    )


def _verdicts(section: str, items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        return []
    out = []
    for item in items:
        if not isinstance(item, dict) or "name" not in item:
            continue
        passed, verdict = _verdict_of(item)
        message = item.get("message") or item.get("explanation") or ""
        out.append(
            {
                "section": section,
                "name": str(item["name"]),
                "kind": _str(item.get("kind")),
                "passed": passed,
                "verdict": verdict,
                "weight": _float(item.get("weight")),
                "message": str(message)[:MESSAGE_CHARS],
            }
        )
    return out


def _verdict_of(item: dict[str, Any]) -> tuple[bool | None, str]:
    """(passed, verdict word): rubric criteria say yes/no/ungraded, checks and rules pass."""
    word = item.get("verdict")
    if isinstance(word, str):
        lowered = word.lower()
        passed = {"yes": True, "pass": True, "no": False, "fail": False}.get(lowered)
        return passed, lowered
    value = item.get("passed")
    if isinstance(value, bool):
        return value, "pass" if value else "fail"
    return None, "ungraded"


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
