"""Package layout: copies only. A symlink (most of all one pointing outside) or a device
file has no place in results, and is never followed."""

from __future__ import annotations

import hashlib

from opsbench.models.release import ReleaseManifest
from opsbench.submission.files import Unreadable
from opsbench.submission.load import METADATA_FILE, Package
from opsbench.submission.verdicts import Problem, RuleVerdict, verdict


def check_symlinks(pkg: Package, release: ReleaseManifest) -> RuleVerdict:
    problems = []
    for link, target in sorted(pkg.files.symlinks.items()):
        where = "outside the package" if pkg.files.outside(link) else "inside the package"
        problems.append(
            Problem(file=link, message=f"symlink to {target!r} ({where}); a package holds copies")
        )
    problems += [
        Problem(file=name, message="not a regular file or directory") for name in pkg.files.specials
    ]
    return verdict("symlinks", "no symlinks or special files (a package holds copies)", problems)


def check_jobs(pkg: Package, release: ReleaseManifest) -> RuleVerdict:
    problems = []
    if not pkg.jobs:
        problems.append(Problem(file=".", message="no job directory in the package"))
    for job in pkg.jobs:
        if not job.trials:
            problems.append(Problem(file=job.name, message="a job with no trial directories"))
    variants = {
        j.config.value.variant.model_copy(update={"n_attempts": 1})
        for j in pkg.jobs
        if j.config.value
    }
    if len(variants) > 1:
        names = ", ".join(sorted(j.name for j in pkg.jobs))
        problems.append(
            Problem(file=".", message=f"jobs of different variants in one package: {names}")
        )
    problems += _copies(pkg)
    notes = [f"{len(pkg.jobs)} job(s), {len(pkg.trials)} trial(s); metadata in {METADATA_FILE}"]
    return verdict("jobs", "whole jobs of one variant, each trial run once", problems, notes)


def _copies(pkg: Package) -> list[Problem]:
    """Trials whose agent record is byte-identical to another's: one run counted twice
    (commands carry their times to the millisecond, so two real attempts never match)."""
    seen: dict[str, str] = {}
    found = []
    for trial in pkg.trials:
        name = trial.files.commands
        try:
            data = pkg.files.read_bytes(name)
        except Unreadable:
            continue
        if not data.strip():
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen:
            found.append(Problem(file=name, message=f"a copy of {seen[digest]}"))
        else:
            seen[digest] = name
    return found
