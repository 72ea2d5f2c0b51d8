"""User-facing errors.

Everything a user can cause (a malformed spec, an unknown agent, a job that would mix
variants) raises an `OpsbenchError`; the CLI prints its lines and exits non-zero without a
traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class OpsbenchError(Exception):
    """A failure the user can act on; `lines()` is what the CLI prints."""

    exit_code = 2

    def lines(self) -> list[str]:
        return [str(self)]


@dataclass(frozen=True)
class SpecIssue:
    """One problem in one input: `file: field.path: message`.

    The input is a spec or suite file, or the command line (`file` empty, `field` the
    flag: `--rate-limit: expected 'N/seconds'...`).
    """

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return ": ".join(part for part in (self.file, self.field, self.message) if part)


class SpecError(OpsbenchError):
    """One or more invalid specs; carries every issue found in the run."""

    def __init__(self, issues: Sequence[SpecIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))

    def lines(self) -> list[str]:
        return [str(i) for i in self.issues]
