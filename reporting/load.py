"""Read a job's artifacts for the reports: config, scenario clock, trial results.

Everything is read defensively: the job's `config.json` is read as a plain dict (its
model may change), a trial without a readable `result.json` is counted as unfinished,
and a missing optional file is simply absent from the report.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsbench.models.result import TrialResult
from opsbench.paths import JobPaths, SuitePaths, TrialPaths
from opsbench.results import read_results

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedTrial:
    paths: TrialPaths
    result: TrialResult


@dataclass
class JobArtifacts:
    paths: JobPaths
    config: dict[str, Any]
    scenario_time: str
    trials: list[LoadedTrial] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)
    """Trial directories without a readable result.json (running, killed or corrupt)."""

    @property
    def results(self) -> list[TrialResult]:
        return [t.result for t in self.trials]


def read_json(path: Path) -> Any:
    """The parsed JSON at `path`, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def is_job_dir(path: Path) -> bool:
    return path.is_dir() and JobPaths.is_job(path)


def job_dirs_in(suite: Path) -> list[Path]:
    """The job directories directly inside a suite directory, sorted by name."""
    return [job.dir for job in SuitePaths(suite).jobs()]


def load_job(job_dir: Path) -> JobArtifacts:
    paths = JobPaths(job_dir)
    raw = read_json(paths.config)
    config = raw if isinstance(raw, dict) else {}
    clock = (read_text(paths.scenario_time) or "").strip()
    job = JobArtifacts(paths=paths, config=config, scenario_time=clock)
    for read in read_results(paths):
        if read.result is None:
            job.unfinished.append(read.trial.dir.name)
        else:
            job.trials.append(LoadedTrial(read.trial, read.result))
    return job


def config_value(config: dict[str, Any], *keys: str) -> Any:
    """The first present value among `keys`, at the top level or under `variant`."""
    scopes = [config]
    for nested in ("variant", "job"):
        if isinstance(config.get(nested), dict):
            scopes.append(config[nested])
    for key in keys:
        for scope in scopes:
            value = scope.get(key)
            if value not in (None, ""):
                return value
    return None
