"""Jinja2 rendering for the HTML reports: autoescaped templates, inline assets, JSON blobs.

Pages are self-contained: CSS and JS from `reporting/static/` are inlined, charts are
inline SVG, and data for the page's script is embedded as JSON inside
`<script type="application/json">` with `<`, `>` and `&` escaped so no content can
close the script element.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from reporting import fmt

STATIC = Path(__file__).parent / "static"

_JSON_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def json_blob(data: Any) -> Markup:
    """JSON safe to place inside `<script type="application/json">` (no `</script>`)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    for char, escape in _JSON_ESCAPES:
        text = text.replace(char, escape)
    return Markup(text)


@cache
def static(name: str) -> Markup:
    """A file of ours from `reporting/static/`, inlined verbatim."""
    return Markup((STATIC / name).read_text(encoding="utf-8"))


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("reporting", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        pct=fmt.pct,
        ci=fmt.interval_text,
        money=fmt.money,
        duration=fmt.duration,
        count=fmt.count,
        n=fmt.integer,
        reward=fmt.reward,
        json_blob=json_blob,
    )
    env.globals.update(static=static)
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def write_page(path: Path, html: str) -> Path:
    """Write atomically: a reader sees the old report or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path


def generated_at() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
