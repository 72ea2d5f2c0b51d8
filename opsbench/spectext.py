"""Spec text read defensively: bytes to text, text to YAML, with limits checked first.

A spec is text a user (or a contributor's pull request) wrote, so reading it must never
crash the compiler: a file that is not UTF-8 is reported with its byte offset; a file too
large, or nested too deeply, is refused before the YAML parser sees it (libyaml's C loader
overflows its stack and segfaults on a few hundred thousand nested brackets, and Python
code walking a deep result hits `RecursionError`); a mapping that names the same key twice
is an error naming both lines (PyYAML silently keeps the last).

Every refusal is a `SpecIssue` with a field of `line N` (or `encoding`/`size`), so the
compiler prints one line per problem, like any other spec error.
"""

from __future__ import annotations

import re
import reprlib
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from opsbench.errors import SpecError, SpecIssue

MAX_SPEC_BYTES = 1_000_000
"""Per spec file, and per rendered combination: real specs are a few kilobytes."""

MAX_DEPTH = 64
"""Nesting levels (block indentation, compact `- -` items and flow brackets together);
real specs use under ten."""

_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_DASHES = re.compile(r"(?:-[ \t]+)+")
_QUOTE_OPENERS = " \t[{,:"
_short_repr = reprlib.Repr()
_short_repr.maxlevel = 3
_short_repr.maxstring = 50
_short_repr.maxother = 50


class DuplicateKeyError(Exception):
    """Raised by the loader; carries the key and both (0-based) lines."""

    def __init__(self, key: str, first_line: int, second_line: int) -> None:
        super().__init__(key)
        self.key = key
        self.first_line = first_line
        self.second_line = second_line


class SpecLoader(_Base):  # type: ignore[valid-type,misc]
    """The safe loader (libyaml's when present), refusing duplicate mapping keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[tuple[str, str], int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            ident = (key_node.tag, key_node.value)
            line = key_node.start_mark.line
            if ident in seen:
                raise DuplicateKeyError(key_node.value, seen[ident], line)
            seen[ident] = line
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def decode(data: bytes, where: str) -> str:
    """UTF-8 text of a spec file within the size limit, or a SpecError saying where not."""
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError(
            [SpecIssue(where, "size", f"at most {MAX_SPEC_BYTES} bytes, found {len(data)}")]
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise SpecError(
            [
                SpecIssue(
                    where,
                    "encoding",
                    f"UTF-8 text, found byte 0x{bad} at byte offset {exc.start} (line {line})",
                )
            ]
        ) from None


def load_yaml(text: str, where: str, offset: int = 0) -> Any:
    """Parse one YAML document after the size and depth checks; errors name the file line.

    `offset` is the number of file lines before `text` (a template's header).
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_SPEC_BYTES:
        raise SpecError(
            [SpecIssue(where, "size", f"at most {MAX_SPEC_BYTES} bytes once rendered, found more")]
        )
    deep = too_deep(text)
    if deep is not None:
        raise SpecError(
            [
                SpecIssue(
                    where,
                    f"line {deep + offset}",
                    f"at most {MAX_DEPTH} levels of nesting, found more",
                )
            ]
        )
    try:
        return yaml.load(text, Loader=SpecLoader)
    except DuplicateKeyError as exc:
        first, second = exc.first_line + 1 + offset, exc.second_line + 1 + offset
        raise SpecError(
            [
                SpecIssue(
                    where,
                    f"line {second}",
                    f"a unique key, found {short(exc.key)} again (first on line {first})",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = f"line {mark.line + 1 + offset}" if mark is not None else "yaml"
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError([SpecIssue(where, loc, f"valid YAML, found {problem}")]) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # A scalar the constructor cannot build (`2020-13-45` as a date, bad base64).
        raise SpecError(
            [SpecIssue(where, "yaml", f"valid YAML values, found {type(exc).__name__}: {exc}")]
        ) from None


def too_deep(text: str) -> int | None:
    """The first (1-based) line where nesting exceeds MAX_DEPTH, or None.

    An over-estimate by design, read from the text alone: block indentation levels (as
    YAML's scanner counts them), compact sequence dashes, and flow brackets outside quotes
    and comments. A real spec stays far below the limit; a hostile one cannot hide depth
    from it, since quotes only ever hide brackets from YAML too.
    """
    indents: list[int] = []
    flow = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip(" ")
        block = len(indents)
        if flow == 0 and stripped and not stripped.startswith("#"):
            indent = len(line) - len(stripped)
            while indents and indents[-1] >= indent:
                indents.pop()
            indents.append(indent)
            dashes = _DASHES.match(stripped)
            block = len(indents) + (dashes.group(0).count("-") if dashes else 0)
        flow, peak = _flow_depth(line, flow)
        if block + peak > MAX_DEPTH:
            return lineno
    return None


def _flow_depth(line: str, depth: int) -> tuple[int, int]:
    """Flow-bracket depth after `line` and the peak within it."""
    peak = depth
    quote = ""
    prev = " "
    for ch in line:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"" and prev in _QUOTE_OPENERS:
            quote = ch
        elif ch == "#" and prev in " \t":
            break
        elif ch in "[{":
            depth += 1
            peak = max(peak, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
        prev = ch
    return depth, peak


def short(value: Any) -> str:
    """A bounded repr: never recursive, never long (a value can be nested or huge)."""
    return _short_repr.repr(value)


def template_line(exc: BaseException, templates: Path, offset: int) -> str:
    """`line N` of the spec file (or `snippet line N`) where a render raised, or "".

    Jinja rewrites tracebacks so template frames carry the template's own name and line;
    the deepest one is where the error happened (for recursion, inside the macro). `offset`
    is the number of file lines before the rendered body.
    """
    found = ""
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename == "<template>":
            found = f"line {tb.tb_lineno + offset}"
        elif filename.startswith(str(templates)):
            found = f"{Path(filename).name} line {tb.tb_lineno}"
        tb = tb.tb_next
    return found
