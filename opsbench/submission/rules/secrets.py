"""No secrets anywhere in the package: API keys and tokens in any file, text or not.

Reported by file, line and kind; the value itself is never printed, only a masked prefix,
so the bot's log does not leak what it caught.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from opsbench.models.release import ReleaseManifest
from opsbench.submission.files import Unreadable
from opsbench.submission.load import Package
from opsbench.submission.verdicts import Problem, RuleVerdict, verdict

_KEY = rb"(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{20,}"
"""20+ key characters with a digit and a letter: keys, not hyphenated words (`disk-full-…`)."""
_VALUE = rb"[\"']?\s*[:=]\s*[\"']?(?!\*{3}|<|\$\{|null\b|none\b)[a-z0-9._~+/=-]{12,}"
"""`: "value"` or `=value` after a key name; placeholders and nulls are not secrets."""


@dataclass(frozen=True)
class SecretPattern:
    """Every pattern starts with a literal (word boundaries are lookbehinds after it), so
    the regex engine skips to candidates at memory-search speed: a package is hundreds of
    megabytes. `lowercase` patterns match the lowercased file (case-insensitive names)."""

    kind: str
    regex: re.Pattern[bytes]
    lowercase: bool = False


def _p(kind: str, pattern: bytes, lowercase: bool = False) -> SecretPattern:
    return SecretPattern(kind, re.compile(pattern), lowercase)


PATTERNS = (
    _p("anthropic-key", rb"sk-ant-(?<![A-Za-z0-9_-]sk-ant-)" + _KEY),
    _p("openai-key", rb"sk-(?<![A-Za-z0-9_-]sk-)(?!ant-)(?:proj-|svcacct-|admin-)?" + _KEY),
    _p("aws-access-key", rb"AKIA(?<![A-Za-z0-9]AKIA)[0-9A-Z]{16}(?![0-9A-Za-z])"),
    _p("aws-access-key", rb"ASIA(?<![A-Za-z0-9]ASIA)[0-9A-Z]{16}(?![0-9A-Za-z])"),
    _p("github-token", rb"gh[pousr]_[A-Za-z0-9]{30,}"),
    _p("github-token", rb"github_pat_[A-Za-z0-9_]{30,}"),
    _p("slack-token", rb"xox[abposr]-[A-Za-z0-9-]{10,}"),
    _p("google-key", rb"AIza[0-9A-Za-z_-]{35}"),
    _p("private-key", rb"-----BEGIN (?:RSA |EC |DSA |OPENSSH )?PRIVATE KEY-----"),
    _p("bearer-token", rb"bearer\s+[a-z0-9._~+/=-]{20,}", lowercase=True),
    _p("api-key-value", rb"api(?<![a-z0-9]api)[_-]?key" + _VALUE, lowercase=True),
    _p("api-key-value", rb"secret(?<![a-z0-9]secret)[_-]?key" + _VALUE, lowercase=True),
    _p("api-key-value", rb"access(?<![a-z0-9]access)[_-]?token" + _VALUE, lowercase=True),
    _p("api-key-value", rb"auth(?<![a-z0-9]auth)[_-]?token" + _VALUE, lowercase=True),
)
MAX_REPORTED = 200


def mask(secret: str) -> str:
    """The first few characters and the length: enough to find it, not to use it."""
    return f"{secret[:4]}…({len(secret)} chars)"


def check_secrets(pkg: Package, release: ReleaseManifest) -> RuleVerdict:
    problems: list[Problem] = []
    for name in sorted(pkg.files.files):
        try:
            data = pkg.files.read_bytes(name)
        except Unreadable as exc:
            problems.append(Problem(file=name, message=f"not scanned: {exc}"))
            continue
        problems += [Problem(file=name, message=m) for m in find_secrets(data)]
        if len(problems) >= MAX_REPORTED:
            break
    return verdict("secrets", "no secrets (API keys, tokens) in any file", problems)


def find_secrets(data: bytes) -> list[str]:
    """`line N: kind masked` for every secret in `data`, in file order."""
    lowered = data.lower()
    found = []
    for pattern in PATTERNS:
        for match in pattern.regex.finditer(lowered if pattern.lowercase else data):
            text = data[match.start() : match.end()].decode("utf-8", errors="replace")
            found.append((match.start(), pattern.kind, text))
    newline = b"\n"
    return [
        f"line {data.count(newline, 0, pos) + 1}: {kind} {mask(text)}"
        for pos, kind, text in sorted(found)
    ]
