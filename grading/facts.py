"""Canonical facts for rubric criteria, resolved from the live environment at verify time.

The value is saved with the evidence so a regrade judges against what was true when the
agent worked, not against a fresh environment.
"""

from __future__ import annotations

from typing import Any, assert_never

from grading.checks import CheckContext, prometheus_query
from opsbench.models.spec import CommandFact, Criterion, Fact, PromqlFact, StaticFact


def _promql_text(payload: dict[str, Any], limit: int = 10) -> str:
    data = payload.get("data", {})
    result = data.get("result", [])
    if data.get("resultType") == "scalar":
        return str(result[1])
    rows = []
    for series in result[:limit]:
        labels = ", ".join(f'{k}="{v}"' for k, v in sorted(series.get("metric", {}).items()))
        value = series.get("value") or (series.get("values") or [[None, "?"]])[-1]
        rows.append(f"{{{labels}}} {value[1]}")
    return "; ".join(rows) or "(no series)"


def resolve_facts(rubric: list[Criterion], ctx: CheckContext) -> dict[str, str]:
    """The canonical value of each criterion that has a `fact`, by criterion name."""
    facts: dict[str, str] = {}
    for criterion in rubric:
        if criterion.fact is None:
            continue
        try:
            facts[criterion.name] = _resolve(criterion.fact, ctx)
        except Exception as exc:  # an unresolvable fact is stated as such to the judge
            facts[criterion.name] = f"(could not be resolved: {exc})"
    return facts


def _resolve(fact: Fact, ctx: CheckContext) -> str:
    match fact:
        case StaticFact():
            return fact.value
        case CommandFact():
            return ctx.exec(fact.run, "root", 60).stdout.strip()[:2000]
        case PromqlFact():
            return _promql_text(prometheus_query(ctx, fact.query))
        case _:
            assert_never(fact)
