"""Load task specs: YAML files that are also Jinja2 templates.

A plain spec is one YAML document. A template spec has two documents: the first holds only
`matrix:` (lists whose cartesian product gives the combinations) and/or `cases:` (explicit
combinations); the second is rendered by Jinja2 once per combination. Every file is
rendered with `StrictUndefined`, so a missing variable is an error, and may include shared
snippets from `tasks-spec/_templates/`.

Every problem becomes a `SpecIssue` (`file: field.path: expected, found`). Loading collects
all of them before failing so a user fixes a whole batch per run.
"""

from __future__ import annotations

import difflib
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml
from pydantic import BaseModel, ValidationError

from opsbench.errors import SpecError, SpecIssue
from opsbench.models.spec import SpecFile, TaskSpec

_DOC_SPLIT = re.compile(r"^---[ \t]*$", re.MULTILINE)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_JINJA_MARKS = ("{{", "{%", "{#")


@dataclass
class LoadedSpec:
    """One task from one spec file, with what it was made from."""

    spec: TaskSpec
    source: Path
    params: dict[str, Any]
    snippets: list[str] = field(default_factory=list)


class _RecordingLoader(jinja2.FileSystemLoader):
    """Remembers which snippets a render pulled in (they feed the task checksum)."""

    def __init__(self, root: Path) -> None:
        super().__init__(str(root))
        self.used: set[str] = set()

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        self.used.add(template)
        return super().get_source(environment, template)


def _jinja(templates: Path) -> tuple[jinja2.Environment, _RecordingLoader]:
    loader = _RecordingLoader(templates)
    env = jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # renders YAML, not HTML
    )
    env.filters["tojson"] = lambda v: json.dumps(v)
    return env, loader


def discover(spec_root: Path) -> list[Path]:
    """Spec files under `spec_root` (or the single file), excluding `_templates/`."""
    if spec_root.is_file():
        return [spec_root]
    return sorted(
        p
        for p in spec_root.rglob("*.y*ml")
        if p.suffix in {".yaml", ".yml"}
        and not any(part.startswith("_") for part in p.relative_to(spec_root).parts)
    )


def load_specs(spec_root: Path, templates: Path | None = None) -> list[LoadedSpec]:
    """Load and validate every spec; raise SpecError listing all issues found."""
    templates = templates or (spec_root / "_templates" if spec_root.is_dir() else spec_root.parent)
    env, loader = _jinja(templates)
    display_root = spec_root if spec_root.is_dir() else spec_root.parent
    loaded: list[LoadedSpec] = []
    issues: list[SpecIssue] = []
    for path in discover(spec_root):
        name = _display(path, display_root)
        category = _category_of(path, display_root)
        try:
            loaded.extend(_load_file(path, name, category, env, loader))
        except SpecError as exc:
            issues.extend(exc.issues)
    issues.extend(_duplicate_ids(loaded, display_root))
    if issues:
        raise SpecError(issues)
    return loaded


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def _category_of(path: Path, root: Path) -> str | None:
    rel = path.relative_to(root)
    return rel.parts[0] if len(rel.parts) > 1 else None


def _load_file(
    path: Path, name: str, category: str | None, env: jinja2.Environment, loader: _RecordingLoader
) -> Iterator[LoadedSpec]:
    text = path.read_text(encoding="utf-8")
    header, body = _split_header(text)
    combos = _combinations(header, name)
    issues: list[SpecIssue] = []
    template: jinja2.Template | None = None
    # Text without Jinja syntax renders to itself (bar newline style, which YAML ignores).
    plain = not any(mark in body for mark in _JINJA_MARKS)
    for params in combos:
        loader.used.clear()
        where = name if not params else f"{name} [{_fmt_params(params)}]"
        try:
            if plain:
                rendered = body
            else:
                # Compiled once per file, rendered once per combination.
                template = template or env.from_string(body)
                rendered = template.render(**params)
        except jinja2.TemplateError as exc:
            lineno = getattr(exc, "lineno", None)
            line = f"line {lineno}: " if lineno else ""
            issues.append(SpecIssue(where, "template", f"{line}{exc}"))
            continue
        data = _parse_yaml(rendered, where)
        if not isinstance(data, dict):
            issues.append(SpecIssue(where, "", f"a YAML mapping, found {type(data).__name__}"))
            continue
        if category is not None:
            data.setdefault("category", category)
        try:
            spec = TaskSpec.model_validate(data)
        except ValidationError as exc:
            issues.extend(_issues_from(exc, where, data, TaskSpec))
            continue
        if category is not None and spec.category != category:
            issues.append(
                SpecIssue(
                    where, "category", f"{category!r} (its directory), found {spec.category!r}"
                )
            )
            continue
        yield LoadedSpec(spec, path, params, sorted(loader.used))
    if issues:
        raise SpecError(issues)


def _split_header(text: str) -> tuple[dict[str, Any] | None, str]:
    """Separate a template's `matrix:`/`cases:` header document from its body."""
    parts = _DOC_SPLIT.split(text, maxsplit=2)
    # A leading `---` yields an empty first part.
    if parts and not parts[0].strip():
        parts = parts[1:]
    if len(parts) < 2:
        return None, text
    try:
        head = yaml.load(parts[0], Loader=_Loader)
    except yaml.YAMLError:
        return None, text
    if isinstance(head, dict) and head and set(head) <= {"matrix", "cases"}:
        return head, "---".join(parts[1:])
    return None, text


def _combinations(header: dict[str, Any] | None, name: str) -> list[dict[str, Any]]:
    if header is None:
        return [{}]
    try:
        parsed = SpecFile.model_validate({"matrix": header.get("matrix")})
    except ValidationError as exc:
        raise SpecError(_issues_from(exc, name, header, SpecFile)) from None
    cases = header.get("cases") or []
    if not isinstance(cases, list) or not all(isinstance(c, dict) for c in cases):
        raise SpecError([SpecIssue(name, "cases", "a list of mappings, found something else")])
    combos: list[dict[str, Any]] = [dict(c) for c in cases]
    if parsed.matrix:
        keys = sorted(parsed.matrix)
        for values in itertools.product(*(parsed.matrix[k] for k in keys)):
            combos.append(dict(zip(keys, values, strict=True)))
    if not combos:
        raise SpecError([SpecIssue(name, "matrix", "at least one combination, found none")])
    return combos


def _fmt_params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items()))


def _parse_yaml(text: str, where: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = f"line {mark.line + 1}" if mark is not None else "yaml"
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError([SpecIssue(where, loc, f"valid YAML, found {problem}")]) from None


def _duplicate_ids(loaded: list[LoadedSpec], root: Path) -> list[SpecIssue]:
    seen: dict[str, LoadedSpec] = {}
    issues = []
    for item in loaded:
        first = seen.setdefault(item.spec.id, item)
        if first is not item:
            a = _display(first.source, root) + (
                f" [{_fmt_params(first.params)}]" if first.params else ""
            )
            b = _display(item.source, root) + (
                f" [{_fmt_params(item.params)}]" if item.params else ""
            )
            issues.append(
                SpecIssue(b, "id", f"a unique task id, found {item.spec.id!r} also made by {a}")
            )
    return issues


# --------------------------------------------------------------------------- error text


def _issues_from(
    exc: ValidationError, where: str, data: Any, model: type[BaseModel]
) -> list[SpecIssue]:
    issues = []
    for err in exc.errors(include_url=False):
        path, found, owner = _walk(data, err["loc"], model)
        issues.append(SpecIssue(where, path, _message(err, found, owner)))
    return issues


def _walk(data: Any, loc: tuple[Any, ...], model: type[BaseModel]) -> tuple[str, Any, Any]:
    """Render `loc` as `checks[0].run`, dropping discriminator tags pydantic inserts.

    Also returns the input found there and the model class owning the last field (for
    'unknown field' hints), following discriminated unions by their `kind` tag.
    """
    text = ""
    node: Any = data
    owner: Any = model
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            owner = _item_model(owner)
            continue
        if isinstance(node, dict) and part not in node and node.get("kind") == part:
            owner = _union_member(owner, part)
            continue  # the tag pydantic adds for a discriminated union member
        text += f".{part}" if text else str(part)
        parent = owner
        owner = _field_model(owner, part)
        if owner is None:
            owner = parent if isinstance(node, dict) and part not in node else None
        node = node.get(part) if isinstance(node, dict) else None
    return text, node, owner


def _field_model(owner: Any, name: str) -> Any:
    if isinstance(owner, type) and issubclass(owner, BaseModel) and name in owner.model_fields:
        return owner.model_fields[name].annotation
    return None


def _item_model(owner: Any) -> Any:
    args = getattr(owner, "__args__", ())
    return args[0] if args else None


def _union_member(owner: Any, tag: str) -> Any:
    candidates = (getattr(owner, "__origin__", None) and owner.__args__[0]) or owner
    for member in getattr(candidates, "__args__", ()):
        kind = getattr(member, "model_fields", {}).get("kind")
        if kind is not None and tag in getattr(kind.annotation, "__args__", ()):
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
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
