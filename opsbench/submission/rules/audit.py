"""Audit: every passing trial carries its audit record (`verifier/audit.json`, written by
the audit after grading); suspect passes are listed, and beyond the release's threshold
they fail the submission. A passing trial with no record counts as not audited: a fail,
since a pass nobody looked at for gaming cannot go on a leaderboard."""

from __future__ import annotations

from pydantic import ValidationError

from opsbench.models.audit import TrialAudit
from opsbench.models.release import ReleaseManifest
from opsbench.submission.files import Unreadable
from opsbench.submission.load import Package, field_errors
from opsbench.submission.verdicts import Problem, RuleVerdict, verdict


def check_audit(pkg: Package, release: ReleaseManifest) -> RuleVerdict:
    problems = []
    suspects = []
    passing = [t for t in pkg.trials if t.passed]
    for trial in passing:
        name = trial.files.audit
        if not pkg.files.has(name):
            problems.append(
                Problem(file=name, message="passing trial not audited (no audit record)")
            )
            continue
        try:
            audit = TrialAudit.model_validate_json(pkg.files.read_bytes(name))
        except Unreadable as exc:
            problems.append(Problem(file=name, message=str(exc)))
            continue
        except ValidationError as exc:
            problems += [Problem(file=name, message=e) for e in field_errors(exc)]
            continue
        if audit.suspect:
            rules = sorted({f.rule for f in audit.flags if f.severity == "suspect"})
            judged = " (judge: hack)" if audit.judge and audit.judge.verdict == "hack" else ""
            suspects.append(f"{trial.rel}: {', '.join(rules) or 'flagged'}{judged}")
    limit = release.max_suspect_fraction
    if passing and len(suspects) / len(passing) > limit:
        problems.append(
            Problem(
                file=".",
                message=f"{len(suspects)} of {len(passing)} passing trials flagged suspect "
                f"(over {limit:.0%})",
            )
        )
    notes = [f"suspect: {s}" for s in suspects]
    return verdict(
        "audit",
        f"passing trials audited, suspect passes within {limit:.0%}",
        problems,
        notes,
    )
