"""Resume planning: plan → print → apply. Finished work is never lost or rerun.

Every trial dir of the job is classified:
- complete   — graded, or a failure that counts (agent_error, agent_timeout): keep;
- incomplete — no result.json (the run was killed mid-trial): archive, rerun;
- corrupt    — result.json unreadable: archive, rerun;
- retryable  — provider_error, infra_error, cancelled (per the failure table): archive, rerun;
- stale      — the task's checksum changed since: archive, rerun.
Non-kept dirs move to `.archive/<timestamp>/<reason>/`, never deleted; only missing
attempts run. Results are read by `opsbench.results`, the reader every other consumer
uses, so "corrupt" means the same thing here as in the reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from opsbench.failures import POLICY
from opsbench.paths import JobPaths, TrialPaths, parse_trial_name
from opsbench.results import ReadStatus, read_result


class Status(StrEnum):
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    CORRUPT = "corrupt"
    RETRYABLE = "retryable"
    STALE = "stale"


@dataclass
class Plan:
    keep: list[str] = field(default_factory=list)
    archive: dict[str, list[str]] = field(default_factory=dict)
    """reason -> trial dir names to move aside (reason: incomplete, corrupt, stale, an outcome)."""
    run: list[tuple[str, int]] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"keep {len(self.keep)}"]
        for reason, names in sorted(self.archive.items()):
            verb = "archive" if reason == Status.STALE else "rerun"
            parts.append(f"{verb} {len(names)} {reason}")
        parts.append(f"run {len(self.run)}")
        return " · ".join(parts)


def trial_status(trial: TrialPaths, checksum: str) -> tuple[Status, str]:
    """(status, reason) for one trial dir, from the one result reader."""
    read = read_result(trial)
    if read.status == ReadStatus.MISSING:
        return Status.INCOMPLETE, Status.INCOMPLETE
    if read.result is None:
        return Status.CORRUPT, Status.CORRUPT
    if read.result.task_checksum != checksum:
        return Status.STALE, Status.STALE
    if POLICY[read.result.outcome].rerun_on_resume:
        return Status.RETRYABLE, read.result.outcome.value
    return Status.COMPLETE, Status.COMPLETE


def make_plan(job: JobPaths, tasks: dict[str, str], n_attempts: int) -> Plan:
    """`tasks` maps the selected task ids to their current checksums."""
    plan = Plan()
    present: set[tuple[str, int]] = set()
    if job.dir.is_dir():
        for entry in sorted(job.dir.iterdir()):
            parsed = parse_trial_name(entry.name)
            if parsed is None or not entry.is_dir():
                continue
            task_id, attempt = parsed
            if task_id not in tasks or attempt > n_attempts:
                continue  # not selected in this run: left as it is
            status, reason = trial_status(TrialPaths(entry), tasks[task_id])
            if status == Status.COMPLETE:
                plan.keep.append(entry.name)
                present.add(parsed)
            else:
                plan.archive.setdefault(reason, []).append(entry.name)
    for task_id in sorted(tasks):
        for attempt in range(1, n_attempts + 1):
            if (task_id, attempt) not in present:
                plan.run.append((task_id, attempt))
    return plan


def apply_plan(job: JobPaths, plan: Plan, now: datetime | None = None) -> str | None:
    """Move non-kept trial dirs under `.archive/<timestamp>/<reason>/`; returns the stamp."""
    if not plan.archive:
        return None
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    for reason, names in plan.archive.items():
        target = job.archive / stamp / reason
        target.mkdir(parents=True, exist_ok=True)
        for name in names:
            (job.dir / name).rename(target / name)
    return stamp
