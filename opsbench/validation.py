"""One formatter for every validation error: specs, suite files and command-line flags.

pydantic reports a location tuple and a message; users need `file: field.path: expected,
found`, with discriminator tags dropped, unknown fields answered with the allowed ones
(and a did-you-mean), and what was found quoted briefly. Every loader and builder turns a
`ValidationError` into `SpecIssue`s here and nowhere else.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from opsbench.errors import SpecIssue


def validation_issues(
    exc: ValidationError,
    where: str,
    data: Any,
    model: type[BaseModel],
    field_name: Callable[[str], str] | None = None,
) -> list[SpecIssue]:
    """One `SpecIssue` per error: `where: field.path: expected, found`.

    `data` is the input as given (to quote what was found); `field_name` renders a field
    path the way the user wrote it (a command-line flag, say) instead of `a.b[0].c`.
    """
    issues = []
    for err in exc.errors(include_url=False):
        path, found, owner = _walk(data, err["loc"], model)
        name = field_name(path) if field_name else path
        issues.append(SpecIssue(where, name, _message(err, found, owner)))
    return issues


def _walk(data: Any, loc: tuple[Any, ...], model: type[BaseModel]) -> tuple[str, Any, Any]:
    """Render `loc` as `checks[0].run`, dropping discriminator tags pydantic inserts.

    Also returns the input found there and the model class that holds the last field (for
    'unknown field' hints), following lists and discriminated unions by their `kind` tag.
    """
    text = ""
    node: Any = data
    current: Any = model  # the type expected at the current position
    holder: Any = model  # the model the last named field belongs to
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            current = _list_item(current)
            continue
        if isinstance(node, dict) and part not in node and node.get("kind") == part:
            current = _union_member(current, part)
            continue  # the tag pydantic adds for a discriminated union member
        text += f".{part}" if text else str(part)
        holder = _model_of(current)
        current = _field_type(holder, part)
        node = node.get(part) if isinstance(node, dict) else None
    return text, node, holder


def _unwrap(tp: Any) -> Any:
    """Strip Annotated[...] and Optional[...] down to the interesting type."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def _model_of(tp: Any) -> type[BaseModel] | None:
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _field_type(holder: type[BaseModel] | None, name: str) -> Any:
    if holder is not None and name in holder.model_fields:
        return holder.model_fields[name].annotation
    return None


def _list_item(tp: Any) -> Any:
    tp = _unwrap(tp)
    args = typing.get_args(tp) if typing.get_origin(tp) in (list, tuple) else ()
    return args[0] if args else None


def _union_member(tp: Any, tag: str) -> Any:
    for member in typing.get_args(_unwrap(tp)):
        kind = getattr(member, "model_fields", {}).get("kind")
        if kind is not None and tag in typing.get_args(kind.annotation):
            return member
    return None


def _message(err: Any, found: Any, owner: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return "a value (required), found nothing"
    if kind == "extra_forbidden":
        name = str(err["loc"][-1])
        allowed = (
            sorted(owner.model_fields)
            if isinstance(owner, type) and issubclass(owner, BaseModel)
            else []
        )
        close = difflib.get_close_matches(name, allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        listing = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return f"a known field, found unknown field {name!r}{hint}{listing}"
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ")
    if kind == "value_error" or msg.startswith("a "):
        return msg
    return f"{_lower_first(msg)}, found {_short(found if found is not None else err.get('input'))}"


def _lower_first(text: str) -> str:
    text = text.removeprefix("Input should be ")
    return text[:1].lower() + text[1:]


def _short(value: Any) -> str:
    """Bounded and never recursive: what was found can be nested deep or be huge."""
    from opsbench.spectext import short

    return short(value)
