"""`opsbench submit`: package jobs for the leaderboard, warning first about every rejection.

The package is assembled in a staging directory beside its destination: job directories
copied file by file (regular files only: a symlink is skipped and reported, never copied
through), `metadata.yaml` written from the user's file with the release filled in; the
validator then runs on the staged package and its failures are returned as warnings;
only then is the package moved into place. With a git checkout as the destination, the
package is committed on a new branch, ready to push as a pull request.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsbench.errors import OpsbenchError
from opsbench.models.release import ReleaseManifest
from opsbench.models.submission import SubmissionMetadata
from opsbench.paths import JobPaths
from opsbench.submission.load import METADATA_FILE
from opsbench.submission.validate import validate_package
from opsbench.submission.verdicts import ValidationReport

SKIPPED_IN_JOBS = (".cache", ".archive", "PAUSE")
"""Judge caches and TSDB blocks, archived (superseded) trials, a pause file: not results."""


@dataclass
class Submission:
    path: Path
    report: ValidationReport
    skipped: list[str] = field(default_factory=list)
    branch: str | None = None

    def warnings(self) -> list[str]:
        out = [f"skipped (not a regular file): {s}" for s in self.skipped]
        for v in self.report.failures():
            out += [f"would be rejected by {v.rule}: {p.file}: {p.message}" for p in v.problems]
        return out


def package_dir(root: Path, meta: SubmissionMetadata) -> Path:
    """`<root>/submissions/<benchmark>/<version>/<agent>__<model>/`."""
    return root / "submissions" / meta.benchmark / meta.version / meta.package_name


def read_metadata(path: Path, release: ReleaseManifest) -> SubmissionMetadata:
    """The user's metadata file with the release's name and version filled in when absent."""
    import yaml
    from pydantic import ValidationError

    from opsbench.submission.load import field_errors

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise OpsbenchError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise OpsbenchError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise OpsbenchError(
            f"{path}: a mapping of fields (see schema/submission-metadata.schema.json)"
        )
    data: dict[str, Any] = {"benchmark": release.benchmark, "version": release.version, **raw}
    try:
        return SubmissionMetadata.model_validate(data)
    except ValidationError as exc:
        raise OpsbenchError("\n".join(f"{path}: {e}" for e in field_errors(exc))) from None


def submit(
    job_dirs: list[Path], meta: SubmissionMetadata, release: ReleaseManifest, root: Path
) -> Submission:
    """Write the package under `root` (see `package_dir`) and return it with its report."""
    for job in job_dirs:
        if not JobPaths(job).config.is_file():
            raise OpsbenchError(f"{job}: not a job directory (no config.json)")
    names = [j.resolve().name for j in job_dirs]
    if len(set(names)) != len(names):
        raise OpsbenchError("submit: two jobs with the same directory name")
    target = package_dir(root, meta)
    if target.exists():
        raise OpsbenchError(f"{target}: already exists; remove it first to package again")
    staging = target.with_name(f".{target.name}.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        skipped = []
        for job in job_dirs:
            skipped += _copy_job(job, staging / job.resolve().name)
        (staging / METADATA_FILE).write_text(_metadata_yaml(meta), encoding="utf-8")
        report = validate_package(staging, release)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report.package = str(target)
    return Submission(target, report, [str(s) for s in skipped])


def _copy_job(src: Path, dst: Path) -> list[Path]:
    """Copy regular files and directories; return what was skipped (symlinks, devices)."""
    skipped: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
        here = Path(dirpath)
        rel = here.relative_to(src)
        if rel == Path("."):
            dirnames[:] = [d for d in dirnames if d not in SKIPPED_IN_JOBS]
            filenames = [f for f in filenames if f not in SKIPPED_IN_JOBS]
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in [*dirnames]:
            if (here / name).is_symlink():
                skipped.append(here / name)
                dirnames.remove(name)
        for name in filenames:
            path = here / name
            if stat.S_ISREG(path.lstat().st_mode):
                shutil.copy2(path, dst / rel / name, follow_symlinks=False)
            else:
                skipped.append(path)
    return skipped


def _metadata_yaml(meta: SubmissionMetadata) -> str:
    import yaml

    header = (
        "# opsbench submission metadata (JSON Schema: schema/submission-metadata.schema.json)\n"
    )
    body = yaml.safe_dump(meta.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    return header + body


# --------------------------------------------------------------------------- git


def branch_name(meta: SubmissionMetadata) -> str:
    return f"submission/{meta.benchmark}-{meta.version}/{meta.package_name}"


def submit_to_repo(
    job_dirs: list[Path], meta: SubmissionMetadata, release: ReleaseManifest, repo: Path
) -> Submission:
    """Package into a git checkout of the submissions repository, on a new branch, and
    commit. The branch is created first, so a failure leaves the current branch clean."""
    _git(repo, "rev-parse", "--is-inside-work-tree")
    if _git(repo, "status", "--porcelain").strip():
        raise OpsbenchError(f"{repo}: the checkout has uncommitted changes; commit or stash them")
    branch = branch_name(meta)
    _git(repo, "checkout", "--quiet", "-b", branch)
    try:
        sub = submit(job_dirs, meta, release, repo)
        rel = sub.path.relative_to(repo).as_posix()
        _git(repo, "add", "--", rel)
        message = (
            f"Submission: {meta.agent.display_name} with {meta.model.display_name} "
            f"on {meta.benchmark} {meta.version}"
        )
        _git(repo, "commit", "--quiet", "-m", message, "--", rel)
    except OpsbenchError:
        # Leave the checkout as it was: back on the previous branch, the new one gone.
        _git(repo, "checkout", "--quiet", "-")
        _git(repo, "branch", "--quiet", "-D", branch)
        raise
    sub.branch = branch
    return sub


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise OpsbenchError("git is not installed") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise OpsbenchError(f"{repo}: git {args[0]}: {detail[-1] if detail else 'failed'}")
    return done.stdout
