"""`metadata.yaml`: present, complete, and naming the release it was made for."""

from __future__ import annotations

from opsbench.models.release import ReleaseManifest
from opsbench.submission.load import METADATA_FILE, Package
from opsbench.submission.verdicts import Problem, RuleVerdict, verdict


def check_metadata(pkg: Package, release: ReleaseManifest) -> RuleVerdict:
    problems = [Problem(file=METADATA_FILE, message=e) for e in pkg.metadata.errors]
    notes = []
    meta = pkg.metadata.value
    if meta is not None and pkg.root.name != meta.package_name:
        notes.append(
            f"the package directory is {pkg.root.name!r}; the layout names it {meta.package_name!r}"
        )
    return verdict("metadata", "metadata.yaml is complete", problems, notes)


def check_release(pkg: Package, release: ReleaseManifest) -> RuleVerdict:
    problems = []
    meta = pkg.metadata.value
    if meta is None:
        raw = pkg.metadata_raw if isinstance(pkg.metadata_raw, dict) else {}
        benchmark, version = raw.get("benchmark"), raw.get("version")
    else:
        benchmark, version = meta.benchmark, meta.version
    if (benchmark, version) != (release.benchmark, release.version):
        problems.append(
            Problem(
                file=METADATA_FILE,
                message=f"made for {benchmark} {version}; this release is "
                f"{release.benchmark} {release.version}",
            )
        )
    return verdict("release", f"made for {release.benchmark} {release.version}", problems)
