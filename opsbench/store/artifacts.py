"""Read a job directory into store records, without touching the database.

Everything is read first and written after (`opsbench.store.ingest`), so a job is
stored whole or not at all. A trial whose `result.json` is missing is still running (or
was killed) and is not a result; one that is corrupt or partial is skipped and named.
A grading that cannot be read leaves its trial in, without that grading, and is named.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from opsbench.clock import parse_time
from opsbench.errors import OpsbenchError
from opsbench.failures import POLICY
from opsbench.models.audit import TrialAudit
from opsbench.models.job import Variant
from opsbench.models.result import Outcome, TrialResult
from opsbench.models.verdict import DiagnosticsVerdict
from opsbench.paths import JobPaths, TrialPaths

MESSAGE_CHARS = 2000
NAME_CHARS = 300
SECTIONS = ("checks", "compliance", "rubric")
DIAGNOSTIC_COLUMNS = (
    "evidence_coverage",
    "distractor_followed",
    "wrong_remediations",
    "invalid_actions",
    "diagnostics",
)
PARALLEL_MIN = 1500
MAX_WORKERS = 4
_LAYOUT = TrialPaths(Path(""))
"""The trial layout relative to a trial directory (paths.py owns it). Ingest reads tens of
thousands of trials, so it joins these names to each directory as strings, and lists the
verifier directory once per trial rather than testing each optional file."""
_RESULT = str(_LAYOUT.result)
_VERIFIER = str(_LAYOUT.verifier)
_GRADING = _LAYOUT.grading_details.name
_AUDIT = _LAYOUT.audit.name
_HISTORY = _LAYOUT.history.name


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
class IngestTrial:
    name: str
    row: dict[str, Any]
    gradings: list[GradingRecord]


@dataclass
class JobRecord:
    key: str
    row: dict[str, Any]
    trials: list[IngestTrial] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    """Trials left out (corrupt or partial result.json), with why."""
    notes: dict[str, str] = field(default_factory=dict)
    """Trials stored without a grading that could not be read, with why."""
    unfinished: list[str] = field(default_factory=list)


def job_key(name: str, scenario_time: str) -> str:
    return f"{name[:NAME_CHARS]}@{scenario_time}"


def variant_key(model: str | None, effort: str, agent: str) -> str:
    """The job-name convention without the attempts: `openai-gpt-4o-mini-off`."""
    v = Variant.model_construct(model=model, reasoning_effort=effort, agent=agent, n_attempts=1)
    return v.job_name().removesuffix("-k1")


@dataclass
class _Chunk:
    """What reading some trial directories found (a worker's share of a large job)."""

    trials: list[IngestTrial] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    unfinished: list[str] = field(default_factory=list)
    variant: tuple[str | None, str, str] | None = None
    """(model, effort, agent) of the first trial, for a job whose config does not say."""


def read_job(job_dir: Path) -> JobRecord:
    """The job's record: its row, its finished trials and what was skipped.

    Above `PARALLEL_MIN` trials the directories are read by a pool of worker processes
    (parsing tens of thousands of JSON files is the slow part of an ingest), in chunks
    merged back in trial order."""
    job = JobPaths(job_dir)
    config = _read_config(job)
    clock = _scenario_clock(job)
    dirs = [str(d) for d in job.trial_dirs()]
    merged = _Chunk()
    for chunk in _read_chunks(dirs):
        merged.trials += chunk.trials
        merged.skipped.update(chunk.skipped)
        merged.notes.update(chunk.notes)
        merged.unfinished += chunk.unfinished
        merged.variant = merged.variant or chunk.variant
    name = str(config.get("job_name") or job.name)
    return JobRecord(
        key=job_key(name, clock),
        row=_job_row(job, name, clock, config, merged),
        trials=merged.trials,
        skipped=merged.skipped,
        notes=merged.notes,
        unfinished=merged.unfinished,
    )


def _read_chunks(dirs: list[str]) -> list[_Chunk]:
    workers = min(MAX_WORKERS, os.cpu_count() or 1)
    if len(dirs) < PARALLEL_MIN or workers < 2:
        return [read_trials(dirs)]
    from concurrent.futures import ProcessPoolExecutor

    size = -(-len(dirs) // (workers * 4))
    parts = [dirs[i : i + size] for i in range(0, len(dirs), size)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(read_trials, parts))


def read_trials(dirs: list[str]) -> _Chunk:
    """Read trial directories (top level: a worker process runs it)."""
    chunk = _Chunk()
    for trial_dir in dirs:
        name = os.path.basename(trial_dir)
        try:
            raw = _read(os.path.join(trial_dir, _RESULT))
        except FileNotFoundError:
            chunk.unfinished.append(name)
            continue
        except OSError as exc:
            chunk.skipped[name] = f"result.json unreadable: {exc.strerror}"
            continue
        try:
            result = TrialResult.model_validate_json(raw)
        except ValidationError as exc:
            chunk.skipped[name] = f"result.json corrupt or partial: {_first_error(exc)}"
            continue
        if chunk.variant is None:
            v = result.variant
            chunk.variant = (v.model, v.reasoning_effort, v.agent)
        chunk.trials.append(_trial_record(trial_dir, name, raw, result, chunk.notes))
    return chunk


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
    job: JobPaths, name: str, clock: str, config: dict[str, Any], found: _Chunk
) -> dict[str, Any]:
    model, effort, agent = found.variant or (None, "off", "sre")
    model = _config_value(config, "model") or model
    effort = str(_config_value(config, "reasoning_effort") or effort or "off")
    agent = str(_config_value(config, "agent") or agent)
    attempts = _config_value(config, "n_attempts")
    rows = [t.row for t in found.trials]
    versions = sorted({r["opsbench_version"] for r in rows if r["opsbench_version"]})
    return {
        "name": name[:NAME_CHARS],
        "variant": variant_key(model, effort, agent)[:NAME_CHARS],
        "model": _clip(str(model) if model else None, 200),
        "reasoning_effort": effort[:20],
        "agent": agent[:NAME_CHARS],
        "n_attempts": attempts if isinstance(attempts, int) else None,
        "judge_model": _clip(_str(config.get("judge_model")), 200),
        "scenario_time": clock,
        "started_at": min((r["started_at"] for r in rows), default=None),
        "finished_at": max((r["finished_at"] for r in rows), default=None),
        "opsbench_version": _clip(
            _str(config.get("opsbench_version")) or (versions[-1] if versions else None), 40
        ),
        "host": socket.gethostname(),
        "path": str(job.dir.resolve()),
        "config": config,
        "n_trials": len(rows),
    }


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _listing(path: str) -> set[str]:
    try:
        return set(os.listdir(path))
    except OSError:
        return set()


def _trial_record(
    trial_dir: str, name: str, raw: bytes, r: TrialResult, notes: dict[str, str]
) -> IngestTrial:
    verifier = os.path.join(trial_dir, _VERIFIER)
    present = _listing(verifier)
    gradings = _gradings(verifier, present, name, r, notes)
    audit, audit_raw = _audit(verifier, present)
    digest = hashlib.sha256(raw + audit_raw)
    for g in gradings:
        digest.update(g.digest.encode())
    current = next((g for g in gradings if g.current), None)
    scored = POLICY[r.outcome].counts_in_scores
    rw = r.rewards if r.outcome is Outcome.GRADED else None
    row = {
        "trial_name": name,
        "source_digest": digest.hexdigest(),
        "task_id": r.task_id[:NAME_CHARS],
        "attempt": r.attempt,
        "category": r.category[:100],
        "difficulty": r.difficulty[:40],
        "task_checksum": r.task_checksum[:100],
        "outcome": r.outcome.value,
        "scored": scored,
        "passed": bool(scored and rw and rw.passed),
        "task_gate": bool(scored and rw and rw.task),
        # None: not applicable (a Harbor-format task declares no rules), never a pass.
        "compliance_gate": (rw.compliance if rw.compliance is None else bool(rw.compliance))
        if scored and rw
        else False,
        "reward": rw.reward if scored and rw else 0.0,
        "partial": bool(rw and rw.partial),
        "started_at": r.started_at.astimezone(UTC),
        "finished_at": r.finished_at.astimezone(UTC),
        "seconds": max(0.0, (r.finished_at - r.started_at).total_seconds()),
        "phases": {k: v.model_dump(mode="json") for k, v in r.phases.items()},
        "calls": r.usage.calls,
        "input_tokens": r.usage.input_tokens,
        "output_tokens": r.usage.output_tokens,
        "cost_usd": r.usage.cost_usd,
        "exception_type": r.exception.type[:200] if r.exception else None,
        "grader_version": current.row["grader_version"] if current else None,
        "opsbench_version": _clip(r.opsbench_version or None, 40),
        "audit_flags": len(audit.flags) if audit else None,
        "suspect": audit.suspect if audit else None,
        **diagnostic_columns(r.diagnostics if scored else None),
    }
    return IngestTrial(name, row, gradings)


def diagnostic_columns(d: DiagnosticsVerdict | None) -> dict[str, Any]:
    """The trial's diagnostics as store columns: NULL where a measure does not apply (no
    diagnostics recorded, none declared, no distractors or harmful actions declared)."""
    if d is None:
        return dict.fromkeys(DIAGNOSTIC_COLUMNS)
    return {
        "evidence_coverage": d.coverage.fraction if d.coverage else None,
        "distractor_followed": bool(d.distractors_followed) if d.distractors_declared else None,
        "wrong_remediations": len(d.wrong_remediations or []) if d.harmful_declared else None,
        "invalid_actions": len(d.invalid_actions),
        "diagnostics": d.model_dump(mode="json"),
    }


def _audit(verifier: str, present: set[str]) -> tuple[TrialAudit | None, bytes]:
    if _AUDIT not in present:
        return None, b""
    try:
        raw = _read(os.path.join(verifier, _AUDIT))
        return TrialAudit.model_validate_json(raw), raw
    except (OSError, ValidationError):
        return None, b""


def _gradings(
    verifier: str, present: set[str], name: str, r: TrialResult, notes: dict[str, str]
) -> list[GradingRecord]:
    """The current grading and every earlier one a regrade kept under verifier/history/."""
    sources: list[tuple[str, str]] = []
    if _GRADING in present:
        sources.append(("current", os.path.join(verifier, _GRADING)))
    if _HISTORY in present:
        history = os.path.join(verifier, _HISTORY)
        sources += [
            (f"{_HISTORY}/{stamp}", os.path.join(history, stamp, _GRADING))
            for stamp in sorted(_listing(history))
        ]
    out = []
    for source, path in sources:
        try:
            raw = _read(path)
        except OSError:
            continue
        try:
            details = json.loads(raw)
            if not isinstance(details, dict):
                raise ValueError("not a JSON object")
            out.append(_grading(source, raw, details, r))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            where = (
                "grading_details.json" if source == "current" else f"{source}/grading_details.json"
            )
            notes[name] = f"verifier/{where} unreadable: {exc}"
    return out


def _grading(source: str, raw: bytes, details: dict[str, Any], r: TrialResult) -> GradingRecord:
    provenance = details.get("provenance") if isinstance(details.get("provenance"), dict) else {}
    assert isinstance(provenance, dict)
    when = provenance.get("regraded_at")
    if source == "current" and not when:
        when = r.extra.get("regraded_at")
    graded_at = (parse_time(str(when)) if when else r.finished_at).astimezone(UTC)
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
            "grader_version": _clip(
                _str(provenance.get("grader_version") or details.get("grader_version")), 40
            ),
            "judge_model": _clip(_str(provenance.get("judge_model")), 200),
            "diagnostics": details.get("diagnostics")
            if isinstance(details.get("diagnostics"), dict)
            else None,
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
                "name": str(item["name"])[:NAME_CHARS],
                "kind": _clip(_str(item.get("kind")), 60),
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


def _clip(value: str | None, limit: int) -> str | None:
    """Strings fit their column (PostgreSQL refuses longer ones; SQLite would keep them)."""
    return value[:limit] if value is not None else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
