"""Compliance: did the agent follow the operating rules? Graded from what it did.

Rules match what their scope names: the audit record (every command run through the
sandbox, in order), the agent's reasoning and messages on the way (the trajectory), or its
final answer. Each verdict carries its evidence: the command index and text that broke or
satisfied a rule, or the quoted passage of the reasoning or the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, assert_never

from opsbench.models.spec import ForbidRule, MentionRule, OrderRule, RequireRule, Rule
from opsbench.models.trajectory import Trajectory
from opsbench.models.verdict import RuleVerdict
from opsbench.sandbox import CommandRecord


@dataclass(frozen=True)
class RuleInputs:
    """Everything a rule may read about one trial."""

    commands: list[CommandRecord]
    answer: str = ""
    reasoning: list[tuple[int, str]] = field(default_factory=list)
    """(step id, text) of every reasoning passage and agent message before the answer."""

    @staticmethod
    def of(commands: list[CommandRecord], trajectory: Trajectory | None) -> RuleInputs:
        answer = trajectory.final_answer() if trajectory else ""
        passages: list[tuple[int, str]] = []
        for step in trajectory.steps if trajectory else []:
            if step.source != "agent":
                continue
            if step.reasoning_content:
                passages.append((step.step_id, step.reasoning_content))
            if step.message and step.message != answer:
                passages.append((step.step_id, step.message))
        return RuleInputs(commands, answer, passages)


def _text_hits(pattern: str, inputs: RuleInputs, scope: list[str]) -> list[dict[str, Any]]:
    """Quoted matches in the reasoning and the answer, when the scope covers them."""
    rx = re.compile(pattern, re.IGNORECASE | re.MULTILINE)
    texts: list[tuple[str, int | None, str]] = []
    if "reasoning" in scope:
        texts += [("reasoning", step, text) for step, text in inputs.reasoning]
    if "answer" in scope:
        texts.append(("answer", None, inputs.answer))
    hits = []
    for where, step, text in texts:
        for m in rx.finditer(text):
            lo, hi = max(0, m.start() - 60), min(len(text), m.end() + 60)
            hits.append({"where": where, "step_id": step, "quote": text[lo:hi]})
    return hits


def _all_hits(pattern: str, inputs: RuleInputs, scope: list[str]) -> list[dict[str, Any]]:
    cites = [_cite(c) for _, _, c in _hits(pattern, inputs.commands)] if "commands" in scope else []
    return cites + _text_hits(pattern, inputs, scope)


def _hits(pattern: str, commands: list[CommandRecord]) -> list[tuple[int, int, CommandRecord]]:
    """(command position, offset in the command, record) for every match, in order."""
    rx = re.compile(pattern, re.MULTILINE)
    return [(i, m.start(), c) for i, c in enumerate(commands) for m in rx.finditer(c.command)]


def _cite(record: CommandRecord) -> dict[str, Any]:
    return {"command_index": record.index, "command": record.command[:500], "time": record.time}


def _verdict(
    rule: Rule, passed: bool, message: str, evidence: list[dict[str, Any]] | None = None
) -> RuleVerdict:
    return RuleVerdict(
        name=rule.name, kind=rule.kind, passed=passed, message=message, evidence=evidence or []
    )


def evaluate_rule(rule: Rule, inputs: RuleInputs) -> RuleVerdict:
    """Evaluate one of the spec's compliance rules; the match covers the `Rule` union."""
    match rule:
        case ForbidRule():
            hits = _all_hits(rule.pattern, inputs, list(rule.scope))
            if hits:
                what = _scope_words(rule.scope)
                return _verdict(rule, False, f"forbidden in {what} ({len(hits)} times)", hits)
            return _verdict(rule, True, f"nothing forbidden in {_scope_words(rule.scope)}")
        case RequireRule():
            hits = _all_hits(rule.pattern, inputs, list(rule.scope))
            if hits:
                return _verdict(rule, True, "the required step is there", hits[:1])
            where = _scope_words(rule.scope)
            return _verdict(rule, False, f"nothing in {where} matches /{rule.pattern}/")
        case OrderRule():
            return _order(rule, inputs.commands)
        case MentionRule():
            return _mention(rule, inputs.answer)
        case _:
            assert_never(rule)


def _scope_words(scope: Sequence[str]) -> str:
    words = {"commands": "the commands run", "reasoning": "the reasoning", "answer": "the answer"}
    return ", ".join(words[s] for s in scope)


def _mention(rule: MentionRule, summary: str) -> RuleVerdict:
    match = re.search(rule.pattern, summary, re.IGNORECASE | re.MULTILINE)
    if match:
        lo, hi = max(0, match.start() - 80), min(len(summary), match.end() + 80)
        return _verdict(rule, True, "the summary states it", [{"quote": summary[lo:hi]}])
    return _verdict(
        rule,
        False,
        f"the summary does not match /{rule.pattern}/",
        [{"summary": summary[:1000]}],
    )


def _order(rule: OrderRule, commands: list[CommandRecord]) -> RuleVerdict:
    firsts = _hits(rule.first, commands)
    thens = _hits(rule.then, commands)
    if not thens:
        return _verdict(rule, True, "not applicable: the guarded step never ran")
    earliest_first = min(((i, o) for i, o, _ in firsts), default=None)
    for i, offset, record in thens:
        if earliest_first is None or (i, offset) < earliest_first:
            evidence = [_cite(record)]
            if firsts:
                evidence.append(_cite(commands[earliest_first[0]]) if earliest_first else {})
            why = "never" if not firsts else "only after"
            return _verdict(rule, False, f"ran /{rule.then}/ {why} /{rule.first}/", evidence)
    return _verdict(
        rule,
        True,
        "steps ran in the required order",
        [_cite(commands[earliest_first[0]]), _cite(thens[0][2])] if earliest_first else [],
    )
