"""Diagnostics: why a trial went as it did, from what the agent did (SRE-Zero's metrics).

Read from the audit record (`agent/commands.jsonl`) and the trajectory, against the
spec's `diagnostics` (`opsbench.models.spec.Diagnostics`):

- **evidence coverage**: the share of declared evidence items some action matched;
- **distractors**: investigated when an action matches the distractor's pattern;
  followed when the final answer matches its `blame`, or it was investigated and the
  task gate failed;
- **wrong remediations**: harmful actions, matched against executed commands only;
- **invalid actions**: tool calls whose arguments did not parse or validate, tools the
  agent does not have, commands the shell did not find (exit 127, "command not found").
  Counted for every task, with or without declared diagnostics.

An *action* is one command of the audit record, or one tool call of the trajectory (its
function name and its argument values, one per line). Action patterns match as
compliance rules match commands (`re.MULTILINE`, case-sensitive: write `(?i)` for
otherwise); `blame` matches the answer as `mention` rules do (case-insensitive).
None of this changes a reward: it runs on the host beside the score and is not part of
the grader copied into tasks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opsbench.models.spec import Diagnostics, TaskSpec
from opsbench.models.trajectory import ToolCall, Trajectory
from opsbench.models.verdict import (
    DiagnosticsVerdict,
    EvidenceCoverage,
    InvalidAction,
    InvalidKind,
    WrongRemediation,
)
from opsbench.sandbox import CommandRecord

INVALID_CALLS_KEY = "invalid_tool_calls"
"""`Step.extra[...]`: the agent's own record of the tool calls it could not run, as
`{"tool_call_id", "kind": "malformed_tool_call" | "unknown_tool", "error"}` items."""
NOT_FOUND_EXIT = 127
_NOT_FOUND = re.compile(
    r"command not found|^(?:ba|da|z)?sh: (?:line )?\d+: [^:\n]+: not found", re.MULTILINE
)
"""bash's `foo: command not found`, dash's `sh: 1: foo: not found`."""
_RAW_ONLY = {"_raw"}
DETAIL_CHARS = 300


@dataclass(frozen=True)
class Action:
    """One thing the agent did, as text the patterns match."""

    text: str
    command_index: int | None = None
    step_id: int | None = None


def diagnose(
    spec: TaskSpec,
    commands: Sequence[CommandRecord],
    trajectory: Trajectory | None,
    task_passed: bool,
) -> DiagnosticsVerdict:
    """The trial's diagnostics; the declared parts are None when the spec declares none."""
    invalid = invalid_actions(commands, trajectory)
    declared = spec.diagnostics
    if declared is None:
        return DiagnosticsVerdict(declared=False, invalid_actions=invalid)
    actions = actions_of(commands, trajectory)
    answer = trajectory.final_answer() if trajectory else ""
    return DiagnosticsVerdict(
        declared=True,
        distractors_declared=len(declared.distractors),
        harmful_declared=len(declared.harmful),
        coverage=_coverage(declared, actions),
        distractors_investigated=[
            d.name for d in declared.distractors if _any_match(d.pattern, actions)
        ],
        distractors_followed=_followed(declared, actions, answer, task_passed),
        wrong_remediations=_harm(declared, commands),
        invalid_actions=invalid,
    )


def actions_of(commands: Sequence[CommandRecord], trajectory: Trajectory | None) -> list[Action]:
    """Every command of the audit record, then every tool call of the trajectory."""
    out = [Action(c.command, command_index=c.index) for c in commands]
    for step in trajectory.steps if trajectory else []:
        for call in step.tool_calls or []:
            out.append(Action(call_text(call), step_id=step.step_id))
    return out


def call_text(call: ToolCall) -> str:
    """A tool call as matched: its name, then each argument value on its own line."""
    values = [v if isinstance(v, str) else json.dumps(v) for v in call.arguments.values()]
    return "\n".join([call.function_name, *values])


def _any_match(pattern: str, actions: Sequence[Action]) -> bool:
    rx = re.compile(pattern, re.MULTILINE)
    return any(rx.search(a.text) for a in actions)


def _coverage(declared: Diagnostics, actions: Sequence[Action]) -> EvidenceCoverage:
    seen = [e.name for e in declared.evidence if _any_match(e.pattern, actions)]
    missed = [e.name for e in declared.evidence if e.name not in seen]
    return EvidenceCoverage(
        fraction=round(len(seen) / len(declared.evidence), 6), seen=seen, missed=missed
    )


def _followed(
    declared: Diagnostics, actions: Sequence[Action], answer: str, task_passed: bool
) -> list[str]:
    out = []
    for d in declared.distractors:
        blamed = d.blame is not None and re.search(d.blame, answer, re.IGNORECASE | re.MULTILINE)
        if blamed or (not task_passed and _any_match(d.pattern, actions)):
            out.append(d.name)
    return out


def _harm(declared: Diagnostics, commands: Sequence[CommandRecord]) -> list[WrongRemediation]:
    out = []
    for h in declared.harmful:
        rx = re.compile(h.pattern, re.MULTILINE)
        hits = [c for c in commands if rx.search(c.command)]
        if hits:
            first = hits[0]
            out.append(
                WrongRemediation(
                    name=h.name,
                    command_index=first.index,
                    command=first.command[:DETAIL_CHARS],
                    times=len(hits),
                )
            )
    return out


# ---------------------------------------------------------------- invalid actions


def invalid_actions(
    commands: Sequence[CommandRecord], trajectory: Trajectory | None
) -> list[InvalidAction]:
    """Invalid tool calls (in step order), then commands not found (in command order)."""
    return _invalid_calls(trajectory) + [
        InvalidAction(
            kind="command_not_found",
            command_index=c.index,
            detail=c.command[:DETAIL_CHARS],
        )
        for c in commands
        if _not_found(c)
    ]


def _not_found(c: CommandRecord) -> bool:
    return c.exit_code == NOT_FOUND_EXIT or bool(_NOT_FOUND.search(c.stderr or ""))


def _invalid_calls(trajectory: Trajectory | None) -> list[InvalidAction]:
    """What the agent recorded in `Step.extra`, else what the trajectory shows: a tool it
    did not define, or arguments kept only as raw text (they did not parse)."""
    if trajectory is None:
        return []
    defined = _defined_tools(trajectory)
    out = []
    for step in trajectory.steps:
        recorded = _recorded_invalid(step.extra)
        for call in step.tool_calls or []:
            kind: InvalidKind | None
            detail = ""
            if call.tool_call_id in recorded:
                kind, detail = recorded[call.tool_call_id]
            elif defined is not None and call.function_name not in defined:
                kind, detail = "unknown_tool", f"no tool {call.function_name!r}"
            elif set(call.arguments) == _RAW_ONLY:
                kind, detail = "malformed_tool_call", "arguments are not a JSON object"
            else:
                kind = None
            if kind is not None:
                out.append(
                    InvalidAction(
                        kind=kind,
                        step_id=step.step_id,
                        detail=f"{call.function_name}: {detail}"[:DETAIL_CHARS],
                    )
                )
    return out


def _defined_tools(trajectory: Trajectory) -> set[str] | None:
    definitions = trajectory.agent.tool_definitions
    if not definitions:
        return None
    names = set()
    for d in definitions:
        fn = d.get("function") if isinstance(d.get("function"), dict) else d
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            names.add(fn["name"])
    return names or None


def _recorded_invalid(extra: dict[str, Any] | None) -> dict[str, tuple[InvalidKind, str]]:
    items = (extra or {}).get(INVALID_CALLS_KEY)
    out: dict[str, tuple[InvalidKind, str]] = {}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("tool_call_id"), str):
            continue
        kind = item.get("kind")
        if kind in ("malformed_tool_call", "unknown_tool"):
            out[item["tool_call_id"]] = (kind, str(item.get("error") or ""))
    return out
