"""Scoring: weights, the two gates, the reward and the pass definition. One place only.

- task gate: the weighted share of passed checks and YES rubric criteria reaches the
  task's `pass_threshold` (default 1.0: all of them);
- compliance gate: every compliance rule holds;
- reward: that weighted share, in [0, 1], over the components that were graded;
- passed: both gates.
A rubric criterion that could not be judged is left out of the share (never a zero) and
marks the result `partial`; `regrade` fills it in later.
Standard library only (copied into tasks for Harbor).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Component:
    """A graded unit: a check or a rubric criterion. `passed` None means ungraded."""

    weight: float
    passed: bool | None


@dataclass(frozen=True)
class Score:
    reward: float
    task: bool
    compliance: bool
    passed: bool
    partial: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "reward": self.reward,
            "task": self.task,
            "compliance": self.compliance,
            "passed": self.passed,
            "partial": self.partial,
        }


def score(
    components: Iterable[Component], rules_ok: Iterable[bool | None], pass_threshold: float = 1.0
) -> Score:
    comps = list(components)
    graded = [c for c in comps if c.passed is not None]
    partial = len(graded) < len(comps)
    total = sum(c.weight for c in graded)
    if total > 0:
        reward = sum(c.weight for c in graded if c.passed) / total
    else:
        # All weights zero: every graded component must pass; nothing graded is no pass.
        reward = 1.0 if graded and all(c.passed for c in graded) else 0.0
    reward = round(min(1.0, max(0.0, reward)), 6)
    task = bool(graded) and reward >= pass_threshold - 1e-9
    compliance = all(r is not False for r in rules_ok)
    return Score(reward, task, compliance, task and compliance, partial)
