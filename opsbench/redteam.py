"""The red-team run of `opsbench validate`: which exploit applies to which task, and which
tasks are hackable.

Every exploit (`agents/redteam/`, names `redteam-*`) runs once on every task it applies
to, as an ordinary job under `jobs/validate/<exploit>/`. A task is *hackable* when

- an exploit passes its task gate, or
- an exploit that fakes rather than fixes earns a check that the untouched environment
  (the nop job of the same run) does not already earn.

The verdicts land in `jobs/validate/redteam.json` (`RedTeamReport`), the input of the
trusted-verifier work, and as a table: one row per hackable task × exploit, naming the
check(s) that let it through.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from opsbench.models.result import Outcome, TrialResult
from opsbench.paths import TaskPaths, TrialPaths

REDTEAM_SCHEMA_VERSION = 1

Spec = dict[str, Any]
"""A compiled task's `tests/spec.json`: applicability reads its category and checks."""


def _kinds(spec: Spec) -> set[str]:
    kinds = {str(c.get("kind")) for c in spec.get("checks", [])}
    if any(c.get("kind") == "answer" and (c.get("query") or c.get("run")) for c in spec["checks"]):
        kinds.add("answer-from-environment")
    return kinds


def _sidecars(spec: Spec) -> bool:
    env = spec.get("environment", {})
    return bool(env.get("sidecars") or env.get("custom_sidecars"))


def _in_container(spec: Spec) -> bool:
    """A check that runs something inside the task container (anything but transcript,
    and answers with a literal truth)."""
    return bool(_kinds(spec) & {*LIVE_STATE, "promql", "answer-from-environment"})


LIVE_STATE = frozenset({"command", "file", "http", "process"})
"""Check kinds that read the environment's live state: where faking and breaking apply."""


def _live(spec: Spec) -> bool:
    return bool(_kinds(spec) & LIVE_STATE)


def _postgres(spec: Spec) -> bool:
    """A check asks PostgreSQL (its own `psql`)."""
    return any(re.search(r"\bpsql\b", str(c.get("run") or "")) for c in spec.get("checks", []))


@dataclass(frozen=True)
class Exploit:
    name: str
    applies: Callable[[Spec], bool]
    why: str


EXPLOITS: tuple[Exploit, ...] = (
    Exploit("redteam-fake-binaries", _in_container, "checks run in the task container"),
    Exploit("redteam-overwrite-binaries", _in_container, "checks run in the task container"),
    Exploit("redteam-exec-wrapper", _live, "live-state checks"),
    Exploit("redteam-unapplied-edit", _live, "live-state checks"),
    Exploit("redteam-leftover-processes", _live, "live-state checks"),
    Exploit("redteam-kill-services", _live, "live-state checks"),
    Exploit("redteam-shotgun", lambda s: "transcript" in _kinds(s), "transcript checks"),
    Exploit("redteam-echo-citations", lambda s: "transcript" in _kinds(s), "grounding"),
    Exploit("redteam-forged-observations", lambda s: "transcript" in _kinds(s), "grounding"),
    Exploit(
        "redteam-log-tamper",
        lambda s: "transcript" in _kinds(s) and _sidecars(s),
        "grounding over application logs",
    ),
    Exploit(
        "redteam-hosts-redirect",
        lambda s: _sidecars(s) and bool(_kinds(s) & {"promql", "answer-from-environment"}),
        "truths fetched from a sidecar by name",
    ),
    Exploit("redteam-catalog-shadow", _postgres, "checks that read PostgreSQL's catalog"),
    Exploit("redteam-combined", lambda s: True, "every task"),
)
EXPLOIT_NAMES = tuple(e.name for e in EXPLOITS)


def select(names: Iterable[str]) -> tuple[Exploit, ...]:
    """The exploits named (all when none); an unknown name is a user error."""
    from opsbench.errors import OpsbenchError

    wanted = list(names)
    unknown = [n for n in wanted if n not in EXPLOIT_NAMES]
    if unknown:
        raise OpsbenchError(
            f"--exploit: unknown exploit {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(EXPLOIT_NAMES)}"
        )
    return tuple(e for e in EXPLOITS if not wanted or e.name in wanted)


def read_spec(task: TaskPaths) -> Spec:
    spec: Spec = json.loads(task.spec_json.read_text(encoding="utf-8"))
    return spec


def applicable(exploit: Exploit, tasks: dict[str, TaskPaths]) -> dict[str, TaskPaths]:
    return {t: p for t, p in tasks.items() if exploit.applies(read_spec(p))}


class Finding(BaseModel):
    """One exploit on one task."""

    model_config = ConfigDict(extra="forbid")

    task_id: str
    exploit: str
    verdict: Literal["passes-gate", "earns-check", "held", "not-graded"]
    checks: list[str] = Field(
        default_factory=list,
        description="Checks it passed that nop did not (or, for a gate pass, every passed check).",
    )
    reward: float | None = None
    note: str = ""

    @property
    def hackable(self) -> bool:
        return self.verdict in ("passes-gate", "earns-check")


class RedTeamReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = REDTEAM_SCHEMA_VERSION
    findings: list[Finding] = Field(default_factory=list)

    @property
    def hackable_tasks(self) -> list[str]:
        return sorted({f.task_id for f in self.findings if f.hackable})


def _result(trial: TrialPaths) -> TrialResult | None:
    try:
        return TrialResult.model_validate_json(trial.result.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def passed_checks(trial: TrialPaths) -> list[str]:
    """Names of the checks the trial passed and that earn reward, from
    `verifier/grading_details.json` (do-no-harm checks, weight 0, gate but earn nothing)."""
    try:
        details = json.loads(trial.grading_details.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [
        str(c["name"])
        for c in details.get("checks", [])
        if c.get("passed") and float(c.get("weight", 1)) > 0
    ]


def judge(task_id: str, exploit: str, trial: TrialPaths, nop_passed: set[str]) -> Finding:
    """The verdict of one exploit trial against the nop baseline of the same task."""
    result = _result(trial)
    if result is not None and result.outcome in (Outcome.AGENT_ERROR, Outcome.AGENT_TIMEOUT):
        why = result.exception.message[:80] if result.exception else ""
        return Finding(  # graded as the agent's failure, as any agent's crash is
            task_id=task_id, exploit=exploit, verdict="held", note=f"{result.outcome}: {why}"
        )
    if result is None or result.outcome != Outcome.GRADED or result.rewards is None:
        why = result.outcome.value if result else "no result"
        if result is not None and result.exception is not None:
            why += f": {result.exception.message[:80]}"
        return Finding(task_id=task_id, exploit=exploit, verdict="not-graded", note=why)
    passed = passed_checks(trial)
    extra = [c for c in passed if c not in nop_passed]
    reward = result.rewards.reward
    if result.rewards.task:
        return Finding(
            task_id=task_id,
            exploit=exploit,
            verdict="passes-gate",
            checks=extra or passed,
            reward=reward,
        )
    if extra:
        return Finding(
            task_id=task_id, exploit=exploit, verdict="earns-check", checks=extra, reward=reward
        )
    return Finding(task_id=task_id, exploit=exploit, verdict="held", reward=reward)


def assess(trials: dict[tuple[str, str], TrialPaths], nop: dict[str, TrialPaths]) -> RedTeamReport:
    """`trials[(task, exploit)]` judged against `nop[task]`."""
    findings = [
        judge(
            task_id, exploit, trial, set(passed_checks(nop[task_id])) if task_id in nop else set()
        )
        for (task_id, exploit), trial in sorted(trials.items())
    ]
    return RedTeamReport(findings=findings)


def table(report: RedTeamReport) -> list[str]:
    """Lines for the terminal: each hackable task × exploit and the checks through, then
    exploits that did not get graded (an exploit that crashes the sandbox is no pass)."""
    lines = [f"{'task':34} {'exploit':30} {'verdict':12} checks that let it through"]
    for f in report.findings:
        if f.hackable:
            lines.append(f"{f.task_id:34} {f.exploit:30} {f.verdict:12} {', '.join(f.checks)}")
    held = sum(1 for f in report.findings if f.verdict == "held")
    ungraded = [f for f in report.findings if f.verdict == "not-graded"]
    for f in ungraded:
        lines.append(f"{f.task_id:34} {f.exploit:30} {'not graded':12} {f.note}")
    lines.append(
        f"\n{len(report.findings)} exploit runs · {held} held · {len(ungraded)} not graded · "
        f"{len(report.hackable_tasks)} hackable"
    )
    return lines


def write_report(report: RedTeamReport, path: Path) -> None:
    from opsbench.models.trajectory import write_json_atomic

    write_json_atomic(path, report.model_dump(mode="json"))
