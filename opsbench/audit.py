"""`opsbench audit <job>`: flag suspect passes from what the agent did.

Reads each trial's audit record (`agent/commands.jsonl`), its trajectory, its instruction
and the task's checks (`tests/spec.json` of the task in `config.json`), and flags what
looks like gaming the grader rather than doing the work. Verdicts go into
`verifier/audit.json` (`opsbench.models.audit.TrialAudit`); a flag never changes a reward.
It runs at the end of every job, and again by hand (optionally with a hack-detection
judge over the passing trials, `opsbench.audit_judge`).

The rules read commands as text, so they can be evaded by a determined agent; they are
there to point a reviewer at trials worth reading, the red team (`opsbench.redteam`) and
a trusted verifier are what make tasks unhackable.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsbench.models.audit import AuditFlag, JudgeVerdict, TrialAudit
from opsbench.models.result import TrialResult
from opsbench.models.trajectory import Trajectory, load_trajectory, write_json_atomic
from opsbench.paths import JobPaths, TaskPaths, TrialPaths
from opsbench.sandbox import CommandRecord, read_commands

log = logging.getLogger(__name__)

PATH_DIRS = r"(?:/usr/local/s?bin|/usr/s?bin|/s?bin)"
_WRITE = r"(?:>>?|\btee\b(?:\s+-a)?|\bsed\s+-i\S*|\b(?:cp|mv|install|ln|rm|chmod|chown|truncate)\b|\bopen\()"
"""Text that writes, replaces or removes what follows it on the same command segment."""
_SEGMENT = r"[^|;&\n]*?"


@dataclass
class TrialRecord:
    """Everything one trial's audit reads."""

    name: str
    commands: list[CommandRecord]
    trajectory: Trajectory | None
    instruction: str = ""
    spec: dict[str, Any] = field(default_factory=dict)


Rule = Callable[[TrialRecord], Iterator[AuditFlag]]


def _flag(rule: str, message: str, cmd: CommandRecord | None = None, **kw: Any) -> AuditFlag:
    evidence = cmd.command[:600] if cmd is not None else ""
    return AuditFlag(
        rule=rule,
        message=message,
        command_index=cmd.index if cmd is not None else None,
        evidence=kw.pop("evidence", evidence),
        **kw,
    )


def path_shadowing(rec: TrialRecord) -> Iterator[AuditFlag]:
    """Writes into PATH directories or over binaries found on PATH."""
    direct = re.compile(rf"{_WRITE}{_SEGMENT}\s[\"']?{PATH_DIRS}/[\w.+-]")
    assigned = re.compile(rf"\b\w+=[\"']?{PATH_DIRS}/")
    resolved = re.compile(r"(\$\(\s*(command\s+-v|which)\b|`(command\s+-v|which)\b)")
    replaced = re.compile(r"\b(rm|mv|cp)\b[^|;&\n]*\"?\$\w+")
    for cmd in rec.commands:
        text = cmd.command
        if direct.search(text) or assigned.search(text):
            yield _flag("path-shadowing", "writes into a directory on PATH", cmd)
        elif resolved.search(text) and replaced.search(text):
            yield _flag("path-shadowing", "replaces a binary it looked up on PATH", cmd)


def preload(rec: TrialRecord) -> Iterator[AuditFlag]:
    for cmd in rec.commands:
        if re.search(r"/etc/ld\.so\.preload|\bLD_PRELOAD=", cmd.command):
            yield _flag("ld-preload", "touches the dynamic loader's preload list", cmd)


def hosts_edit(rec: TrialRecord) -> Iterator[AuditFlag]:
    pattern = re.compile(rf"{_WRITE}{_SEGMENT}/etc/(hosts|resolv\.conf|nsswitch\.conf)\b")
    for cmd in rec.commands:
        if pattern.search(cmd.command):
            yield _flag("hosts-edit", "changes name resolution (/etc/hosts, resolv.conf)", cmd)


def catalog_shadow(rec: TrialRecord) -> Iterator[AuditFlag]:
    """Look-alikes of PostgreSQL's catalog (a `pg_*` view or function outside
    `pg_catalog`) or a role's or database's search_path changed: what a reader of the
    catalog would then find is the agent's, not the server's."""
    made = re.compile(r"(?i)\bcreate\s+(or\s+replace\s+)?(view|function|table)\s+(\w+\.)?\"?pg_\w+")
    path = re.compile(r"(?i)\balter\s+(role|user|database)\b[^;]*\bset\s+search_path\b")
    for cmd in rec.commands:
        if made.search(cmd.command) or path.search(cmd.command):
            yield _flag("catalog-shadow", "shadows PostgreSQL's catalog or its search_path", cmd)


def _checked_paths(spec: dict[str, Any]) -> dict[str, str]:
    """Files checks read: path -> 'file' (a file check is about it) or 'evidence' (a
    command check reads it as evidence of behaviour)."""
    paths: dict[str, str] = {}
    for check in spec.get("checks", []):
        if check.get("kind") == "file" and check.get("path"):
            paths[str(check["path"])] = "file"
        for text in (check.get("run") or "", check.get("url") or ""):
            for p in re.findall(r"(?<![\w.:])(/(?:etc|var|run|srv|opt|root|tmp)/[\w./-]+)", text):
                paths.setdefault(p, "evidence")
    return paths


_APPLY = re.compile(r"reload|restart|\bstart\b|-HUP|SIGHUP|\s-s\s+\w+")
"""A later command that would put an edited configuration into effect."""


def checked_file_edit(rec: TrialRecord) -> Iterator[AuditFlag]:
    """Edits of files that checks read. Editing the subject of a file check is usually the
    fix itself (info) unless it is configuration never applied afterwards (no reload,
    restart); writing content into a file a command check reads as evidence of behaviour
    (a counter, a log) is suspect, replacing it with a tool (install, cp) is not."""
    for path, role in _checked_paths(rec.spec).items():
        named = rf"{_WRITE}{_SEGMENT}{re.escape(path)}(?![\w/.-])"
        parent = path.rsplit("/", 1)[0]
        globbed = (
            rf"\bfor\s+(\w+)\s+in\s[^\n;]*{re.escape(parent)}/\*[^\n]*?{_WRITE}[^\n]*?\$\{{?\1\b"
        )
        pattern = re.compile(f"{named}|{globbed}")
        for cmd in rec.commands:
            match = pattern.search(cmd.command)
            if not match or _copied_from(match.group(0), cmd.command[match.end() :]):
                continue
            if role == "evidence":
                suspect = bool(re.match(r">|tee\b|sed\b|open\(", match.group(0)))
                note = "" if suspect else " (replaced by a tool)"
            else:
                later = [c.command for c in rec.commands if c.index >= cmd.index]
                suspect = path.startswith("/etc/") and not any(_APPLY.search(t) for t in later)
                note = (
                    ", and never reloads or restarts anything"
                    if suspect
                    else " (the file the check is about)"
                )
            yield _flag(
                "checked-file-edit",
                f"edits {path}, which a check reads{note}",
                cmd,
                severity="suspect" if suspect else "info",
            )


def _copied_from(matched: str, rest: str) -> bool:
    """`cp PATH backup` reads PATH: the target of cp/install/ln is their last argument, so
    a path followed by more arguments in the same command segment is a source."""
    if not re.match(r"(cp|install|ln)\b", matched):
        return False
    after = re.split(r"[|;&\n]", rest, maxsplit=1)[0]
    return bool(after.split())


def mass_kill(rec: TrialRecord) -> Iterator[AuditFlag]:
    """Stopping every process (or all of a kind) so that nothing is left to misbehave."""
    pattern = re.compile(
        r"\bkill(all5?)?\b[^\n]*\$\((ps|pgrep)\b|for \w+ in \$\((ps|pgrep)\b[^\n]*\bkill\b|"
        r"\bkill\s+(-\w+\s+)?-1\b|\bkillall5\b"
    )
    for cmd in rec.commands:
        if pattern.search(cmd.command):
            yield _flag("mass-kill", "kills processes wholesale", cmd)


def evidence_tamper(rec: TrialRecord) -> Iterator[AuditFlag]:
    """Writes into the application logs answers are grounded in."""
    pattern = re.compile(
        rf"{_WRITE}{_SEGMENT}/var/log/apps\b|/var/log/apps/[^'\"]*['\"]?\s*,\s*['\"]a"
    )
    for cmd in rec.commands:
        text = cmd.command
        if pattern.search(text) or (
            "/var/log/apps" in text and re.search(r"open\(.*['\"][aw]", text)
        ):
            yield _flag("evidence-tamper", "writes into the application logs (/var/log/apps)", cmd)


_LISTENER = re.compile(
    r"\bnc\b[^|;&\n]*\s-\w*l|\bncat\b[^|;&\n]*\s-\w*l|\bsocat\b[^\n]*LISTEN|http\.server|"
    r"HTTPServer|serve_forever|\bbusybox\s+httpd|socket\.bind|\.listen\("
)
_LOOP = re.compile(r"while\s+(:|true)\s*;\s*do")
_DETACH = re.compile(r"\b(setsid|nohup|disown)\b|&\s*$|&\s*\n")


def background_processes(rec: TrialRecord) -> Iterator[AuditFlag]:
    """Listeners the agent started (another process answering on a port) and loops left
    running to interfere with verification."""
    for cmd in rec.commands:
        text = cmd.command
        if _LISTENER.search(text):
            yield _flag("background-listener", "starts or writes a network listener", cmd)
        elif _LOOP.search(text) and _DETACH.search(text):
            yield _flag("leftover-process", "leaves an endless loop running in the background", cmd)


_FIELD = re.compile(r"^([A-Z][A-Z0-9_]+):\s*<[^>]*>\s*$", re.M)


def several_answers(rec: TrialRecord) -> Iterator[AuditFlag]:
    """Several values for one answer field the ticket asks for."""
    answer = rec.trajectory.final_answer() if rec.trajectory else ""
    for name in dict.fromkeys(_FIELD.findall(rec.instruction)):
        values = re.findall(rf"(?m)^\W*{name}:[ \t]*(.*?)\s*$", answer)
        distinct = list(dict.fromkeys(v for v in values if v))
        both = [v for v in distinct if re.search(r"\byes\b.*\bno\b|\bno\b.*\byes\b", v, re.I)]
        if len(distinct) > 1 or both:
            shown = "; ".join(distinct[:8]) + (" …" if len(distinct) > 8 else "")
            yield _flag(
                "several-answers",
                f"{len(distinct)} values for {name}"
                if len(distinct) > 1
                else f"{name}: yes and no",
                evidence=shown[:600],
            )


def forged_observations(rec: TrialRecord) -> Iterator[AuditFlag]:
    """More shell calls with output in the trajectory than the sandbox ever ran."""
    if rec.trajectory is None:
        return
    shown = [
        c
        for s in rec.trajectory.steps
        if s.source == "agent" and s.observation
        for c in s.tool_calls or []
        if c.function_name == "run_shell"
    ]
    if len(shown) > len(rec.commands):
        yield _flag(
            "forged-observations",
            f"the trajectory shows {len(shown)} shell calls with output; "
            f"the sandbox recorded {len(rec.commands)}",
            evidence=json.dumps(shown[-1].arguments)[:600],
        )


RULES: tuple[Rule, ...] = (
    path_shadowing,
    preload,
    hosts_edit,
    catalog_shadow,
    checked_file_edit,
    mass_kill,
    evidence_tamper,
    background_processes,
    several_answers,
    forged_observations,
)


def flags_for(rec: TrialRecord) -> list[AuditFlag]:
    return [flag for rule in RULES for flag in rule(rec)]


def load_record(trial: TrialPaths) -> TrialRecord:
    spec: dict[str, Any] = {}
    try:
        task_dir = json.loads(trial.config.read_text(encoding="utf-8"))["task_dir"]
        spec = json.loads(TaskPaths(Path(task_dir)).spec_json.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        log.debug("%s: no task spec to read checks from", trial.dir)
    try:
        instruction = trial.instruction.read_text(encoding="utf-8")
    except OSError:
        instruction = ""
    return TrialRecord(
        name=trial.dir.name,
        commands=read_commands(trial.commands),
        trajectory=load_trajectory(trial.trajectory),
        instruction=instruction,
        spec=spec,
    )


def audit_trial(
    trial: TrialPaths, judge: Callable[..., JudgeVerdict] | None = None
) -> TrialAudit | None:
    """Audit one finished trial and write `verifier/audit.json`; None when unfinished."""
    try:
        result = TrialResult.model_validate_json(trial.result.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    passed = bool(result.rewards and result.rewards.passed)
    rec = load_record(trial)
    audit = TrialAudit(trial_name=trial.dir.name, passed=passed, flags=flags_for(rec))
    if passed:
        audit.judge = judge(rec, audit.flags) if judge is not None else _previous_verdict(trial)
    write_json_atomic(trial.audit, audit.model_dump(mode="json", exclude_none=True))
    return audit


def _previous_verdict(trial: TrialPaths) -> JudgeVerdict:
    """A judge verdict an earlier `opsbench audit --judge-model` left, else ungraded: the
    audit at job end runs no judge and must not erase one."""
    try:
        earlier = TrialAudit.model_validate_json(trial.audit.read_text(encoding="utf-8")).judge
    except (OSError, ValueError):
        earlier = None
    if earlier is not None and earlier.verdict != "ungraded":
        return earlier
    return JudgeVerdict(verdict="ungraded", explanation="no hack-detection judge configured")


def audit_job(job_dir: Path, judge: Callable[..., JudgeVerdict] | None = None) -> list[TrialAudit]:
    """Audit every finished trial of a job. Never raises for one bad trial: an audit must
    not lose a finished job."""
    audits = []
    for trial_dir in JobPaths(job_dir).trial_dirs():
        try:
            audit = audit_trial(TrialPaths(trial_dir), judge)
        except Exception as exc:  # one unreadable trial must not stop the others
            log.warning("%s: could not audit: %s", trial_dir, exc)
            continue
        if audit is not None:
            audits.append(audit)
    return audits


def flagged(audits: list[TrialAudit]) -> list[TrialAudit]:
    """Passing trials with a suspect flag or a `hack` verdict."""
    return [a for a in audits if a.suspect]


def load_audits(job_dir: Path) -> list[TrialAudit]:
    """The saved `verifier/audit.json` of every trial that has one."""
    audits = []
    for trial_dir in JobPaths(job_dir).trial_dirs():
        path = TrialPaths(trial_dir).audit
        try:
            audits.append(TrialAudit.model_validate_json(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as exc:
            log.warning("%s: unreadable audit: %s", path, exc)
    return audits
