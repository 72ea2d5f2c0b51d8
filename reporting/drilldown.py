"""Per-trial drill-down data for the run report, embedded as one JSON blob.

Each trial's instruction, trajectory, command audit record, grading details and exception
are read from its files and reduced to plain JSON the page's script renders on demand.
The file must stay small for large jobs, so every trial gets a share of a fixed text
budget (`DETAIL_BUDGET` characters over the whole job): texts are clipped in order of
importance (exception, grading verdicts and judge explanations, final answer, commands,
trajectory), and once a trial's share is spent the remaining steps and commands are
counted, not embedded. The page links to the trial's own files for the full text.
Instructions are shared between the attempts of a task, so they are stored once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from opsbench.models.result import TrialResult
from opsbench.paths import TrialPaths
from opsbench.sandbox import read_commands
from reporting.load import read_json, read_text

DETAIL_BUDGET = 5_000_000
MIN_TRIAL_BUDGET = 200
MAX_TRIAL_BUDGET = 400_000
INSTRUCTION_BUDGET = 1_500_000
ITEM_OVERHEAD = 40
"""Characters charged per embedded item, for its JSON structure."""

TRIAL_FILES = (
    "result.json",
    "trial.log",
    "agent/instruction.txt",
    "agent/trajectory.json",
    "agent/commands.jsonl",
    "verifier/grading_details.json",
    "verifier/reward.json",
    "verifier/evidence.json",
)
"""Files the drill-down links to; `files` in a trial's data is a bit mask over these."""


def trial_budget(n_trials: int) -> int:
    share = DETAIL_BUDGET // max(1, n_trials)
    return max(MIN_TRIAL_BUDGET, min(MAX_TRIAL_BUDGET, share))


def instruction_cap(n_instructions: int) -> int:
    return max(400, min(60_000, INSTRUCTION_BUDGET // max(1, n_instructions)))


@dataclass
class Budget:
    """Characters a trial may still embed; `clip` spends it."""

    remaining: int
    clipped: bool = False

    @property
    def spent(self) -> bool:
        return self.remaining <= 0

    def clip(self, text: str | None, cap: int) -> str:
        if not text:
            return ""
        allowed = max(0, min(cap, self.remaining))
        if len(text) <= allowed:
            self.remaining -= len(text) + ITEM_OVERHEAD // 4
            return text
        self.clipped = True
        self.remaining -= allowed + ITEM_OVERHEAD // 4
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


def _json_text(value: Any) -> str:
    if value in (None, "", {}, []):
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=1, ensure_ascii=False, default=str)


def _args_text(args: Any) -> str:
    """A tool call's arguments: the bare string for one-string calls like bash(command)."""
    if isinstance(args, dict) and len(args) == 1:
        (only,) = args.values()
        if isinstance(only, str):
            return only
    return _json_text(args)


def _grading(details: Any, budget: Budget) -> dict[str, Any]:
    d = details if isinstance(details, dict) else {}
    out: dict[str, Any] = {}
    for key in ("checks", "compliance"):
        items: list[Any] = d[key] if isinstance(d.get(key), list) else []
        out[key] = [
            {
                "name": str(it.get("name", "")),
                "kind": str(it.get("kind", "")),
                "weight": it.get("weight"),
                "passed": it.get("passed"),
                "message": budget.clip(str(it.get("message") or ""), 600),
                "evidence": budget.clip(_json_text(it.get("evidence")), 1500),
            }
            for it in items
            if isinstance(it, dict)
        ]
    rubric: list[Any] = d["rubric"] if isinstance(d.get("rubric"), list) else []
    out["rubric"] = [
        {
            "name": str(it.get("name", "")),
            "criterion": budget.clip(str(it.get("criterion") or ""), 600),
            "weight": it.get("weight"),
            "verdict": str(it.get("verdict") or "ungraded"),
            "explanation": budget.clip(str(it.get("explanation") or ""), 1500),
            "fact": budget.clip(_json_text(it.get("fact")), 600),
        }
        for it in rubric
        if isinstance(it, dict)
    ]
    out["present"] = bool(d)
    return out


def _steps(trajectory: Any, budget: Budget) -> tuple[list[dict[str, Any]], int]:
    raw = trajectory.get("steps") if isinstance(trajectory, dict) else None
    steps = [s for s in raw if isinstance(s, dict)] if isinstance(raw, list) else []
    out: list[dict[str, Any]] = []
    for i, s in enumerate(steps):
        if budget.spent:
            return out, len(steps) - i
        budget.remaining -= ITEM_OVERHEAD
        calls: list[Any] = s["tool_calls"] if isinstance(s.get("tool_calls"), list) else []
        obs: dict[str, Any] = s["observation"] if isinstance(s.get("observation"), dict) else {}
        results: list[Any] = obs["results"] if isinstance(obs.get("results"), list) else []
        out.append(
            {
                "id": s.get("step_id", i + 1),
                "source": str(s.get("source") or ""),
                "time": str(s.get("timestamp") or ""),
                "message": budget.clip(str(s.get("message") or ""), 4000),
                "reasoning": budget.clip(str(s.get("reasoning_content") or ""), 3000),
                "tools": [
                    {
                        "name": str(c.get("function_name") or ""),
                        "args": budget.clip(_args_text(c.get("arguments")), 1500),
                    }
                    for c in calls
                    if isinstance(c, dict)
                ],
                "results": [
                    budget.clip(str(r.get("content") or ""), 3000)
                    for r in results
                    if isinstance(r, dict)
                ],
            }
        )
    return out, 0


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


def _commands(paths: TrialPaths, budget: Budget) -> tuple[list[dict[str, Any]], int]:
    records = read_commands(paths.commands)
    out: list[dict[str, Any]] = []
    for i, c in enumerate(records):
        if budget.spent:
            return out, len(records) - i
        budget.remaining -= ITEM_OVERHEAD
        out.append(
            {
                "i": c.index,
                "time": c.time,
                "cmd": budget.clip(c.command, 1500),
                "exit": c.exit_code,
                "user": c.user,
                "out": budget.clip(c.stdout, 2000),
                "err": budget.clip(c.stderr, 1000),
            }
        )
    return out, 0


def _files_mask(paths: TrialPaths) -> int:
    return sum(1 << i for i, rel in enumerate(TRIAL_FILES) if (paths.dir / rel).is_file())


def trial_detail(
    paths: TrialPaths, result: TrialResult, instructions: InstructionTable, budget: Budget
) -> dict[str, Any]:
    """The drill-down data of one trial, within `budget`."""
    exc = result.exception
    exception = (
        {
            "type": exc.type,
            "phase": exc.phase,
            "message": budget.clip(exc.message, 2000),
            "traceback": budget.clip(exc.traceback, 4000),
        }
        if exc
        else None
    )
    grading = _grading(read_json(paths.grading_details), budget)
    trajectory = read_json(paths.trajectory)
    final = budget.clip(_final_answer(trajectory), 3000)
    commands, more_commands = _commands(paths, budget)
    steps, more_steps = _steps(trajectory, budget)
    return {
        "instruction": instructions.add(read_text(paths.instruction)),
        "exception": exception,
        "grading": grading,
        "final": final,
        "commands": commands,
        "omitted_commands": more_commands,
        "steps": steps,
        "omitted_steps": more_steps,
        "has_trajectory": isinstance(trajectory, dict),
        "clipped": budget.clipped or bool(more_commands or more_steps),
        "files": _files_mask(paths),
    }
