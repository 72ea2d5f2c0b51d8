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

import itertools
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
from pydantic import ValidationError

from opsbench import spectext
from opsbench.errors import SpecError, SpecIssue
from opsbench.models.spec import SpecFile, TaskSpec
from opsbench.validation import validation_issues

log = logging.getLogger(__name__)
_DOC_SPLIT = re.compile(r"^---[ \t]*$", re.MULTILINE)
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
    # Sandboxed: a spec is text from a contributor, and its templates get no access to
    # Python internals (and `range` is bounded).
    env = jinja2.sandbox.SandboxedEnvironment(
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
    display_root = spec_tree_root(spec_root)
    templates = templates or display_root / "_templates"
    env, loader = _jinja(templates)
    loaded: list[LoadedSpec] = []
    issues: list[SpecIssue] = []
    for path in discover(spec_root):
        name = _display(path, display_root)
        category = _category_of(path, display_root)
        try:
            loaded.extend(_load_file(path, name, category, env, loader))
        except SpecError as exc:
            issues.extend(exc.issues)
        except Exception as exc:  # hostile input must give one line, never a traceback
            log.debug("loading %s failed", name, exc_info=True)
            issues.append(SpecIssue(name, "", f"a loadable spec, found {_exc_text(exc)}"))
    issues.extend(_duplicate_ids(loaded, display_root))
    if issues:
        raise SpecError(issues)
    return loaded


def spec_tree_root(spec_path: Path) -> Path:
    """The spec tree a file or directory belongs to: itself when it is a tree (it holds
    `_templates/` or is named `tasks-spec`), else the nearest parent that is one, so a
    file or one category compiles alone exactly as in the tree: same category (its
    directory under the root) and same snippets. A loose file or directory is its own root."""
    path = spec_path.resolve()
    if path.is_dir() and ((path / "_templates").is_dir() or path.name == "tasks-spec"):
        return path
    for parent in path.parents:
        if (parent / "_templates").is_dir() or parent.name == "tasks-spec":
            return parent
    return path if path.is_dir() else path.parent


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve().parent))
    except ValueError:
        return str(path)


def _category_of(path: Path, root: Path) -> str | None:
    rel = path.resolve().relative_to(root.resolve())
    return rel.parts[0] if len(rel.parts) > 1 else None


def _load_file(
    path: Path, name: str, category: str | None, env: jinja2.Environment, loader: _RecordingLoader
) -> Iterator[LoadedSpec]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpecError([SpecIssue(name, "", f"a readable file, found {exc.strerror}")]) from None
    text = spectext.decode(data, name)
    header, body, offset = _split_header(text)
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
        except Exception as exc:  # any error a template can raise: 1/0, recursion, bad calls
            line = spectext.template_line(exc, Path(loader.searchpath[0]), offset)
            lineno = getattr(exc, "lineno", None)
            if not line and isinstance(lineno, int):
                line = f"line {lineno + offset}"
            issues.append(SpecIssue(where, "template", f"{line}: {_exc_text(exc)}".lstrip(": ")))
            continue
        try:
            data = spectext.load_yaml(rendered, where, offset)
        except SpecError as exc:
            issues.extend(exc.issues)
            continue
        if not isinstance(data, dict):
            issues.append(SpecIssue(where, "", f"a YAML mapping, found {type(data).__name__}"))
            continue
        if category is not None:
            data.setdefault("category", category)
        try:
            spec = TaskSpec.model_validate(data)
        except ValidationError as exc:
            issues.extend(validation_issues(exc, where, data, TaskSpec))
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


def _split_header(text: str) -> tuple[dict[str, Any] | None, str, int]:
    """Separate a template's `matrix:`/`cases:` header document from its body.

    Returns (header, body, offset): `offset` is the number of file lines before the body,
    so a line number in the body plus `offset` is the line in the file.
    """
    seps = list(_DOC_SPLIT.finditer(text))
    if seps and not text[: seps[0].start()].strip():
        seps = seps[1:]  # a leading `---` only opens the first document
        head_start = _DOC_SPLIT.search(text)
        head_text = text[head_start.end() : seps[0].start()] if seps and head_start else ""
    else:
        head_text = text[: seps[0].start()] if seps else ""
    if not seps:
        return None, text, 0
    try:
        head = spectext.load_yaml(head_text, "header")
    except SpecError:
        return None, text, 0  # the whole file is then parsed, and fails with the reason
    if isinstance(head, dict) and head and set(head) <= {"matrix", "cases"}:
        body_start = seps[0].end()
        return head, text[body_start:], text[:body_start].count("\n")
    return None, text, 0


def _combinations(header: dict[str, Any] | None, name: str) -> list[dict[str, Any]]:
    if header is None:
        return [{}]
    try:
        parsed = SpecFile.model_validate({"matrix": header.get("matrix")})
    except ValidationError as exc:
        raise SpecError(validation_issues(exc, name, header, SpecFile)) from None
    cases = header.get("cases") or []
    if not isinstance(cases, list) or not all(isinstance(c, dict) for c in cases):
        raise SpecError([SpecIssue(name, "cases", "a list of mappings, found something else")])
    for i, case in enumerate(cases):
        bad = [k for k in case if not isinstance(k, str) or not k.isidentifier()]
        if bad:
            found = spectext.short(bad[0])
            raise SpecError(
                [SpecIssue(name, f"cases[{i}]", f"variable names as keys, found {found}")]
            )
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


def _exc_text(exc: BaseException) -> str:
    """One line naming an exception, whatever it carries (a message can be huge)."""
    detail = " ".join(str(exc).split())
    detail = detail if len(detail) <= 200 else detail[:197] + "..."
    if isinstance(exc, jinja2.TemplateError):
        return detail
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


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
