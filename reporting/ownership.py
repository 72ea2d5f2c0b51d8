"""Which inputs a generated page was made from, so no command replaces a page it did not make.

A comparison page carries its inputs in a `<meta name="opsbench-inputs">` tag: the suite
directory it covers, or the exact set of job directories. Writing over an existing page is
allowed only when that page names the same inputs (a rerun of the same command); anything
else (another comparison, a file the user wrote) is refused unless the user forces it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path

from opsbench.errors import OpsbenchError

META_NAME = "opsbench-inputs"
_META = re.compile(rf'<meta name="{META_NAME}" content="([^"]*)">')
_GENERATOR = '<meta name="generator" content="opsbench'
_HEAD_BYTES = 8192


def suite_inputs(suite: Path) -> str:
    return f"suite {suite.resolve()}"


def jobs_inputs(job_dirs: Sequence[Path]) -> str:
    return "jobs " + " ".join(sorted(str(j.resolve()) for j in job_dirs))


def inputs_of(page: Path) -> str | None:
    """The inputs an existing page names, or None (not ours, or made before the tag)."""
    try:
        with page.open(encoding="utf-8", errors="replace") as f:
            head = f.read(_HEAD_BYTES)
    except OSError:
        return None
    found = _META.search(head)
    return html.unescape(found.group(1)) if found else None


def check_may_replace(page: Path, inputs: str, *, force: bool = False) -> None:
    """Raise unless `page` is absent, or was made from `inputs` (or `force`).

    A suite's page made before pages carried their inputs is still the suite's own: it is
    recognised by opsbench's generator tag and the suite's default name.
    """
    if force or not page.exists():
        return
    found = inputs_of(page)
    if found == inputs:
        return
    if found is None and inputs.startswith("suite ") and _is_opsbench_page(page):
        return
    made_from = found.split(" ", 1)[0] + " " + _short(found) if found else "not by opsbench"
    raise OpsbenchError(
        f"{page}: already exists and was made from other inputs ({made_from}); "
        "not replacing it: choose another --out, or pass --force"
    )


def _is_opsbench_page(page: Path) -> bool:
    try:
        with page.open(encoding="utf-8", errors="replace") as f:
            return _GENERATOR in f.read(_HEAD_BYTES)
    except OSError:
        return False


def _short(inputs: str) -> str:
    names = [Path(p).name for p in inputs.split(" ")[1:]]
    return ", ".join(names)
