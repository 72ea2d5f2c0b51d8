"""Package layout: copies only. A symlink (most of all one pointing outside) or a device
file has no place in results, and is never followed."""

from __future__ import annotations

from opsbench.models.release import ReleaseManifest
from opsbench.submission.load import METADATA_FILE, Package
from opsbench.submission.verdicts import Problem, RuleVerdict, verdict


def check_symlinks(pkg: Package, release: ReleaseManifest) -> RuleVerdict:
    problems = []
    for rel, target in sorted(pkg.files.symlinks.items()):
        where = "outside the package" if pkg.files.outside(rel) else "inside the package"
        problems.append(
            Problem(file=rel, message=f"symlink to {target!r} ({where}); a package holds copies")
        )
    problems += [
        Problem(file=rel, message="not a regular file or directory") for rel in pkg.files.specials
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
    notes = [f"{len(pkg.jobs)} job(s), {len(pkg.trials)} trial(s); metadata in {METADATA_FILE}"]
    return verdict("jobs", "whole jobs of one variant", problems, notes)
