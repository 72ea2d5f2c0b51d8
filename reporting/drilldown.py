"""Per-trial drill-down data for the run report, embedded as one JSON blob.

Each trial's instruction, trajectory, command audit record, grading details and exception
are read from its files and reduced to compact JSON (arrays, not objects, for repeated
items) that the page's script renders on demand.

The file must stay small for large jobs, so every trial gets a share of a fixed budget
(`DETAIL_BUDGET` characters over the whole job, structure included): texts are clipped in
order of importance — exception, grading verdicts and judge explanations, final answer,
commands, trajectory — and once a trial's share is spent, the remaining commands and
steps are counted, not embedded (and not even parsed). Grading verdicts are always
embedded, with their texts clipped. The page links to the trial's own files for the full
text. Instructions are shared between the attempts of a task, so they are stored once.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsbench.models.result import TrialResult
from opsbench.models.verdict import DiagnosticsVerdict, GradingDetails, read_grading_details
from opsbench.paths import TrialPaths

DETAIL_BUDGET = 4_000_000
MIN_TRIAL_BUDGET = 120
MAX_TRIAL_BUDGET = 400_000
INSTRUCTION_BUDGET = 1_000_000
ITEM_COST = 24
"""Characters charged per embedded item for its JSON structure."""
TRIAL_COST = 120
"""Characters charged per trial for its fixed fields."""
CLIP_FLOOR = 40
"""A text that would be clipped shorter than this is left out instead."""
STEP_FLOOR = 600
"""Below this much budget left, the trajectory is counted rather than parsed."""

_LAYOUT = TrialPaths(Path(""))
"""The trial layout relative to a trial directory (paths.py owns it)."""
TRIAL_FILES = tuple(
    p.as_posix()
    for p in (
        _LAYOUT.result,
        _LAYOUT.log,
        _LAYOUT.instruction,
        _LAYOUT.trajectory,
        _LAYOUT.commands,
        _LAYOUT.grading_details,
        _LAYOUT.reward_json,
        _LAYOUT.evidence,
        _LAYOUT.audit,
    )
)
"""Files the drill-down links to; `files` in a trial's data is a bit mask over these."""
_INSTRUCTION, _TRAJECTORY, _COMMANDS, _GRADING = (
    str(p)
    for p in (_LAYOUT.instruction, _LAYOUT.trajectory, _LAYOUT.commands, _LAYOUT.grading_details)
)
_AUDIT = str(_LAYOUT.audit)
_OPTIONAL = (TRIAL_FILES[1], TRIAL_FILES[6], TRIAL_FILES[7])
"""Linked files the drill-down does not read: checked for existence only."""


def trial_budget(n_trials: int) -> int:
    share = DETAIL_BUDGET // max(1, n_trials)
    return max(MIN_TRIAL_BUDGET, min(MAX_TRIAL_BUDGET, share))


def instruction_cap(n_instructions: int) -> int:
    return max(300, min(60_000, INSTRUCTION_BUDGET // max(1, n_instructions)))


@dataclass
class Budget:
    """Characters a trial may still embed; `clip` spends it."""

    remaining: int
    clipped: bool = False

    @property
    def spent(self) -> bool:
        return self.remaining <= 0

    def item(self, *labels: str) -> None:
        """Charge one embedded item: its JSON structure and its short labels."""
        self.remaining -= ITEM_COST + sum(len(x) for x in labels)

    def clip(self, text: str | None, cap: int) -> str:
        if not text:
            return ""
        allowed = max(0, min(cap, self.remaining))
        if len(text) <= allowed:
            self.remaining -= len(text) + 3
            return text
        self.clipped = True
        self.remaining -= allowed + 3
        if allowed < CLIP_FLOOR:
            return ""
        return f"{text[:allowed]}\n[… {len(text) - allowed:,} more characters in the trial's files]"


@dataclass
class InstructionTable:
    """Instructions stored once each; trials refer to them by index."""

    cap: int
    texts: list[str] = field(default_factory=list)
    _index: dict[str, int] = field(default_factory=dict)

    def add(self, text: str | None) -> int | None:
        if text is None:
            return None
        if text not in self._index:
            self._index[text] = len(self.texts)
            clipped = text if len(text) <= self.cap else f"{text[: self.cap]}\n[… clipped]"
            self.texts.append(clipped)
        return self._index[text]


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _json(data: bytes | None) -> Any:
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def _text(value: Any) -> str:
    """Evidence, facts and arguments as text: strings as they are, the rest as JSON."""
    if value in (None, "", {}, []):
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _args_text(args: Any) -> str:
    """A tool call's arguments: the bare string for one-string calls like bash(command)."""
    if isinstance(args, dict) and len(args) == 1:
        (only,) = args.values()
        if isinstance(only, str):
            return only
    return _text(args)


def read_details(path: str) -> GradingDetails | None:
    """The trial's grading details, or None when absent or not in the verdict format."""
    try:
        return read_grading_details(Path(path))
    except (OSError, ValueError):
        return None


def grading(details: GradingDetails | None, budget: Budget) -> dict[str, Any] | None:
    """checks: [name, kind, weight, passed, message, evidence];
    compliance: [name, kind, passed, message, evidence];
    rubric: [name, criterion, weight, verdict, explanation, fact]."""
    if details is None:
        return None
    checks, rules, rubric = details.checks, details.compliance, details.rubric
    for c in checks:
        budget.item(c.name, c.kind)
    for r in rules:
        budget.item(r.name, r.kind)
    for cr in rubric:
        budget.item(cr.name, "")
    out: dict[str, Any] = {
        "checks": [[c.name, c.kind, c.weight, c.passed, "", ""] for c in checks],
        "compliance": [[r.name, r.kind, r.passed, "", ""] for r in rules],
        "rubric": [[r.name, "", r.weight, r.verdict, "", ""] for r in rubric],
    }
    # Texts second, the most telling first: what failed and why, then the judge's reasons,
    # then the rest. Each entry: (rank, row, column, value, cap).
    fills: list[tuple[int, list[Any], int, Any, int]] = []
    for row, c in zip(out["checks"], checks, strict=True):
        failed = c.passed is False
        fills += [
            (0 if failed else 2, row, 4, c.message, 600),
            (3 if failed else 5, row, 5, c.evidence, 1500),
        ]
    for row, r in zip(out["compliance"], rules, strict=True):
        failed = r.passed is False
        fills += [
            (0 if failed else 2, row, 3, r.message, 600),
            (3 if failed else 5, row, 4, r.evidence, 1500),
        ]
    for row, cr in zip(out["rubric"], rubric, strict=True):
        fills += [
            (1, row, 4, cr.explanation, 1500),
            (2, row, 1, cr.criterion, 600),
            (4, row, 5, cr.fact, 600),
        ]
    for _, row, column, value, cap in sorted(fills, key=lambda f: f[0]):
        if budget.remaining > CLIP_FLOOR:
            row[column] = budget.clip(_text(value), cap)
        elif value:
            budget.clipped = True
    if details.diagnostics is not None:
        out["diagnostics"] = diagnostics(details.diagnostics)
    return out


def diagnostics(d: DiagnosticsVerdict) -> dict[str, Any]:
    """The trial's diagnostics as the drill-down shows them (texts clipped short)."""
    return {
        "declared": d.declared,
        "coverage": d.coverage.fraction if d.coverage else None,
        "seen": d.coverage.seen if d.coverage else [],
        "missed": d.coverage.missed if d.coverage else [],
        "investigated": d.distractors_investigated,
        "followed": d.distractors_followed,
        "harmful": [
            [w.name, w.command_index, w.times, w.command[:200]] for w in d.wrong_remediations or []
        ],
        "invalid": [
            [a.kind, a.step_id, a.command_index, a.detail[:200]] for a in d.invalid_actions[:50]
        ],
        "invalid_total": len(d.invalid_actions),
    }


def _items(d: dict[str, Any], key: str) -> list[dict[str, Any]]:
    raw = d.get(key)
    return [it for it in raw if isinstance(it, dict)] if isinstance(raw, list) else []


def audit_flags(audit: Any, budget: Budget) -> list[Any] | None:
    """`[suspect, [[rule, severity, message, command index, evidence], ...], judge]` from
    `verifier/audit.json`, or None when the trial was not audited."""
    if not isinstance(audit, dict):
        return None
    flags = [
        [
            _text(f.get("rule")),
            _text(f.get("severity")),
            budget.clip(_text(f.get("message")), 400),
            f.get("command_index"),
            budget.clip(_text(f.get("evidence")), 600),
        ]
        for f in _items(audit, "flags")
    ]
    suspect = bool(audit.get("passed")) and (
        any(f[1] == "suspect" for f in flags)
        or (isinstance(audit.get("judge"), dict) and audit["judge"].get("verdict") == "hack")
    )
    judge = audit.get("judge") if isinstance(audit.get("judge"), dict) else None
    verdict = (
        [_text(judge.get("verdict")), budget.clip(_text(judge.get("explanation")), 600)]
        if judge
        else None
    )
    return [suspect, flags, verdict]


def _final_answer(trajectory: Any) -> str:
    if not isinstance(trajectory, dict):
        return ""
    extra = trajectory.get("extra")
    if isinstance(extra, dict) and isinstance(extra.get("final_answer"), str):
        return str(extra["final_answer"])
    steps = trajectory.get("steps")
    for s in reversed(steps if isinstance(steps, list) else []):
        if isinstance(s, dict) and s.get("source") == "agent" and s.get("message"):
            return str(s["message"])
    return ""


def commands(data: bytes | None, budget: Budget) -> tuple[list[list[Any]], int]:
    """([index, time, command, exit code, user, stdout, stderr], how many in all).

    Lines are parsed only while the budget lasts; a torn line (crash mid-write) is skipped,
    as `opsbench.sandbox.read_commands` does."""
    if not data:
        return [], 0
    lines = [ln for ln in data.splitlines() if ln.strip()]
    out: list[list[Any]] = []
    for line in lines:
        if budget.spent:
            break
        try:
            c = json.loads(line)
        except ValueError:
            continue
        if not isinstance(c, dict):
            continue
        budget.item()
        out.append(
            [
                c.get("index"),
                str(c.get("time") or ""),
                budget.clip(str(c.get("command") or ""), 1500),
                c.get("exit_code"),
                str(c.get("user") or ""),
                budget.clip(str(c.get("stdout") or ""), 2000),
                budget.clip(str(c.get("stderr") or ""), 1000),
            ]
        )
    return out, len(lines)


def steps(trajectory: Any, budget: Budget) -> list[list[Any]]:
    """[step id, source, time, message, reasoning, [[tool, arguments]], [outputs]]."""
    raw = trajectory.get("steps") if isinstance(trajectory, dict) else None
    out: list[list[Any]] = []
    for i, s in enumerate(raw if isinstance(raw, list) else []):
        if budget.spent:
            break
        if not isinstance(s, dict):
            continue
        budget.item()
        calls = s["tool_calls"] if isinstance(s.get("tool_calls"), list) else []
        obs = s["observation"] if isinstance(s.get("observation"), dict) else {}
        results = obs["results"] if isinstance(obs.get("results"), list) else []
        out.append(
            [
                s.get("step_id", i + 1),
                str(s.get("source") or ""),
                str(s.get("timestamp") or ""),
                budget.clip(str(s.get("message") or ""), 4000),
                budget.clip(str(s.get("reasoning_content") or ""), 3000),
                [
                    [
                        str(c.get("function_name") or ""),
                        budget.clip(_args_text(c.get("arguments")), 1500),
                    ]
                    for c in calls
                    if isinstance(c, dict)
                ],
                [
                    budget.clip(str(r.get("content") or ""), 3000)
                    for r in results
                    if isinstance(r, dict)
                ],
            ]
        )
    return out


def _tail_final_answer(raw: bytes | None) -> str:
    """`extra.final_answer` without parsing the whole trajectory (it is written last)."""
    if not raw:
        return ""
    at = raw.rfind(b'"final_answer"')
    if at < 0:
        return ""
    colon = raw.find(b":", at + 14)
    try:
        value, _ = json.JSONDecoder().raw_decode(
            raw[colon + 1 :].decode("utf-8", "replace").lstrip()
        )
    except ValueError:
        return ""
    return value if isinstance(value, str) else ""


def _step_count(raw: bytes | None, trajectory: Any) -> int | None:
    """How many steps the trajectory has; None when there is no trajectory file."""
    if raw is None:
        return None
    if isinstance(trajectory, dict) and isinstance(trajectory.get("steps"), list):
        return len(trajectory["steps"])
    return raw.count(b'"step_id"')


@dataclass(frozen=True)
class TrialFacts:
    """What the drill-down needs from `result.json` (small, so cheap to send to workers)."""

    exception: tuple[str, str, str, str] | None
    phases: tuple[tuple[str, float | None, bool | None], ...]
    calls: int
    retries: int

    @classmethod
    def of(cls, result: TrialResult) -> TrialFacts:
        e = result.exception
        return cls(
            exception=(e.type, e.phase, e.message, e.traceback) if e else None,
            phases=tuple((name, p.seconds, p.ok) for name, p in result.phases.items()),
            calls=result.usage.calls,
            retries=result.usage.retries,
        )


def trial_detail(
    trial_dir: str, facts: TrialFacts, instructions: InstructionTable, budget: Budget
) -> dict[str, Any]:
    """The drill-down data of one trial, within `budget`; empty parts are left out."""
    root = trial_dir
    join = os.path.join
    present = {TRIAL_FILES[0]}
    present.update(rel for rel in _OPTIONAL if os.path.exists(join(root, rel)))
    budget.remaining -= TRIAL_COST
    d: dict[str, Any] = {}
    raw_instruction = _read(join(root, _INSTRUCTION))
    if raw_instruction is not None:
        present.add(TRIAL_FILES[2])
        d["ins"] = instructions.add(raw_instruction.decode("utf-8", errors="replace"))
    if facts.exception:
        kind, phase, message, traceback = facts.exception
        d["exc"] = [kind, phase, budget.clip(message, 2000), budget.clip(traceback, 4000)]
    d["grading"] = grading(read_details(join(root, _GRADING)), budget)
    audit = audit_flags(_json(_read(join(root, _AUDIT))), budget)
    if audit is not None:
        present.add(_AUDIT)
        d["audit"] = audit
    raw_traj = _read(join(root, _TRAJECTORY))
    if raw_traj is not None:
        present.add(TRIAL_FILES[3])
    trajectory = _json(raw_traj) if raw_traj and budget.remaining > STEP_FLOOR else None
    final = _final_answer(trajectory) if trajectory is not None else _tail_final_answer(raw_traj)
    final = budget.clip(final, 3000)
    if final:
        d["final"] = final
    raw_cmds = _read(join(root, _COMMANDS))
    if raw_cmds is not None:
        present.add(TRIAL_FILES[4])
    cmds, d["n_cmds"] = commands(raw_cmds, budget)
    if cmds:
        d["cmds"] = cmds
    d["n_steps"] = _step_count(raw_traj, trajectory)
    if trajectory is not None:
        d["steps"] = steps(trajectory, budget)
    if facts.phases:
        d["phases"] = [list(p) for p in facts.phases]
    d["calls"] = [facts.calls, facts.retries]
    if budget.clipped or d["n_cmds"] > len(cmds) or d["n_steps"] != len(d.get("steps", [])):
        d["clipped"] = 1
    if d["grading"] is not None:
        present.add(TRIAL_FILES[5])
    d["files"] = sum(1 << i for i, rel in enumerate(TRIAL_FILES) if rel in present)
    return d
