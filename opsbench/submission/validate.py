"""Validate a package against a release: every rule, one verdict each, then the report.

A rule that meets input it did not foresee still gives a verdict (a failure naming the
exception) rather than stopping the bot: the package is the untrusted side.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from opsbench.models.release import ReleaseManifest
from opsbench.submission.load import Package, load_package
from opsbench.submission.rules import audit, layout, metadata, rewards, secrets, settings, tasks
from opsbench.submission.rules import trials as trial_rules
from opsbench.submission.verdicts import (
    Problem,
    ReleaseRef,
    RuleVerdict,
    ValidationReport,
    verdict,
)

log = logging.getLogger(__name__)

Rule = Callable[[Package, ReleaseManifest], RuleVerdict]

RULES: list[tuple[str, Rule]] = [
    ("symlinks", layout.check_symlinks),
    ("metadata", metadata.check_metadata),
    ("release", metadata.check_release),
    ("grader-version", tasks.check_grader_version),
    ("jobs", layout.check_jobs),
    ("tasks", tasks.check_tasks),
    ("attempts", tasks.check_attempts),
    ("settings", settings.check_settings),
    ("outcomes", trial_rules.check_outcomes),
    ("artifacts", trial_rules.check_artifacts),
    ("rewards", rewards.check_rewards),
    ("audit", audit.check_audit),
    ("secrets", secrets.check_secrets),
]


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Validation builds a large heap of parsed records that lives until the report is
    made; the cyclic collector re-walks it over and over as it grows (a third of the time
    on 2,000 trials) and would free nothing, since none of it forms cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def validate_package(root: Path, release: ReleaseManifest) -> ValidationReport:
    with _no_cyclic_gc():
        return _validate(root, release)


def _validate(root: Path, release: ReleaseManifest) -> ValidationReport:
    try:
        pkg = load_package(root)
    except Exception as exc:  # unreadable tree (permissions, vanishing files): one verdict
        log.debug("cannot read %s", root, exc_info=True)
        why = f"the package cannot be read ({type(exc).__name__}: {exc})"
        return _report(
            root, release, 0, [verdict("package", "package", [Problem(file=".", message=why)])]
        )
    verdicts = [_run(name, rule, pkg, release) for name, rule in RULES]
    return _report(root, release, len(pkg.trials), verdicts)


def _report(
    root: Path, release: ReleaseManifest, trials: int, verdicts: list[RuleVerdict]
) -> ValidationReport:
    return ValidationReport(
        package=str(root),
        release=ReleaseRef(
            benchmark=release.benchmark,
            version=release.version,
            grader_version=release.grader_version,
        ),
        passed=all(v.passed for v in verdicts),
        trials=trials,
        rules=verdicts,
    )


def _run(name: str, rule: Rule, pkg: Package, release: ReleaseManifest) -> RuleVerdict:
    try:
        return rule(pkg, release)
    except Exception as exc:  # the package is untrusted: a surprise is a failure, not a crash
        log.debug("rule %s failed on %s", name, pkg.root, exc_info=True)
        why = f"the rule could not finish on this package ({type(exc).__name__}: {exc})"
        return verdict(name, name, [Problem(file=".", message=why)])


def verdict_lines(report: ValidationReport, limit: int = 20) -> list[str]:
    """What the bot prints before the JSON report: one line per rule, then its problems."""
    lines = []
    for v in report.rules:
        lines.append(f"{'PASS' if v.passed else 'FAIL'}  {v.rule}: {v.title}")
        for p in v.problems[:limit]:
            lines.append(f"      {p.file}: {p.message}")
        if len(v.problems) > limit:
            lines.append(f"      … and {len(v.problems) - limit} more (see the JSON report)")
        lines += [f"      note: {n}" for n in v.notes[:limit]]
    failed = len(report.failures())
    lines.append(
        f"{report.package}: "
        + (f"valid ({report.trials} trials)" if report.passed else f"{failed} rule(s) failed")
    )
    return lines
