"""The one reader of trial results (`result.json`), with one error policy.

- missing: the trial is still running or was killed before it recorded: not a result;
- corrupt: unreadable or not a valid `TrialResult` (a torn write, a hand edit, a format
  this version does not know): not a result either, and logged once, here;
- ok: the parsed result.
Planning (resume), metrics, reports, validate and regrade all read through here, so a
trial is never "finished" for one of them and "corrupt" for another.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from pydantic import ValidationError

from opsbench.models.result import TrialResult
from opsbench.paths import JobPaths, TrialPaths

log = logging.getLogger(__name__)


class ReadStatus(StrEnum):
    OK = "ok"
    MISSING = "missing"
    CORRUPT = "corrupt"


@dataclass(frozen=True)
class ResultRead:
    trial: TrialPaths
    status: ReadStatus
    result: TrialResult | None = None
    error: str = ""


def read_result(trial: TrialPaths) -> ResultRead:
    try:
        raw = trial.result.read_bytes()
    except FileNotFoundError:
        return ResultRead(trial, ReadStatus.MISSING)
    except OSError as exc:
        return _corrupt(trial, f"cannot read: {exc}")
    try:
        return ResultRead(trial, ReadStatus.OK, TrialResult.model_validate_json(raw))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "json"
        return _corrupt(trial, f"{where}: {first['msg']} ({exc.error_count()} errors)")


def read_results(job: JobPaths) -> list[ResultRead]:
    """Every trial directory of the job, in name order, with what its result says."""
    return [read_result(TrialPaths(d)) for d in job.trial_dirs()]


def finished_results(job: JobPaths) -> list[TrialResult]:
    """The results of the job's finished trials (missing and corrupt ones left out)."""
    return [r.result for r in read_results(job) if r.result is not None]


def _corrupt(trial: TrialPaths, why: str) -> ResultRead:
    log.warning("%s: unreadable result: %s", trial.result, why)
    return ResultRead(trial, ReadStatus.CORRUPT, error=why)
