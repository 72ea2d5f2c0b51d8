"""PromQL validation at load time, so a query that cannot parse fails the compile."""

from __future__ import annotations

import promql_parser


def validate_promql(query: str) -> str:
    """Return `query` unchanged if it parses as PromQL, else raise ValueError."""
    try:
        promql_parser.parse(query)
    except ValueError as exc:
        raise ValueError(f"a valid PromQL expression, found {query!r} ({exc})") from exc
    return query
