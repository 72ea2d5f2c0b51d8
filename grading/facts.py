"""Canonical facts for rubric criteria, resolved from the live environment at verify time.

The value is saved with the evidence so a regrade judges against what was true when the
agent worked, not against a fresh environment.
"""

from __future__ import annotations

from typing import Any

from grading.checks import CheckContext, prometheus_query


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


def resolve_facts(rubric: list[dict[str, Any]], ctx: CheckContext) -> dict[str, str]:
    facts: dict[str, str] = {}
    for criterion in rubric:
        fact = criterion.get("fact")
        if not fact:
            continue
        try:
            if fact["kind"] == "static":
                facts[criterion["name"]] = str(fact["value"])
            elif fact["kind"] == "command":
                out = ctx.exec(fact["run"], "root", 60)
                facts[criterion["name"]] = out.stdout.strip()[:2000]
            elif fact["kind"] == "promql":
                facts[criterion["name"]] = _promql_text(prometheus_query(ctx, fact["query"]))
        except Exception as exc:  # an unresolvable fact is stated as such to the judge
            facts[criterion["name"]] = f"(could not be resolved: {exc})"
    return facts
