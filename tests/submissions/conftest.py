"""A real oracle job at 5 attempts on three quick remediation tasks, run once per session,
packaged with `opsbench submit`; each test gets its own copy of the package to alter.

The release the package is validated against is the corpus's, restricted to the tasks the
job ran (`build_manifest` takes a task selection). Until the audit (which writes
`verifier/audit.json` after grading) is part of every run, passing trials without a record
get a clean one here, as the audit would write it for an oracle pass.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from opsbench.cli import main
from opsbench.models.audit import TrialAudit
from opsbench.models.release import ReleaseManifest
from opsbench.models.result import TrialResult
from opsbench.paths import JobPaths, ProjectPaths, TrialPaths
from opsbench.release import ReleaseIdentity, build_manifest, render_manifest

REPO = Path(__file__).resolve().parents[2]
TASKS = ("log-dir-permissions-billing", "log-dir-permissions-ledger", "nginx-bad-upstream")
ATTEMPTS = 5
PACKAGE_NAME = "oracle__none"
METADATA = """\
agent:
  name: oracle
  display_name: Oracle (reference solutions)
  organisation: opsbench
  url: https://github.com/opsbench/opsbench
model:
  name: none
  display_name: No model
  organisation: opsbench
  url: https://github.com/opsbench/opsbench
contact:
  name: Calibration Bot
  email: calibration@example.org
"""


@dataclass(frozen=True)
class Made:
    """What the session built: the job, the release file, the pristine package."""

    job: Path
    release_file: Path
    release: ReleaseManifest
    metadata_file: Path
    package: Path


@pytest.fixture(scope="session")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    from opsbench.runtime.images import ensure_task_base, ensure_upstream_base, resolve_ca_bundle

    ensure_upstream_base()
    ensure_task_base(REPO / "environment", resolve_ca_bundle(None))
    work = tmp_path_factory.mktemp("submission")
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        args = ["job", "--agent", "oracle", "--n-attempts", str(ATTEMPTS), "--quiet"]
        args += [a for t in TASKS for a in ("--task-name", t)]
        assert main([*args, "--jobs-dir", str(work / "jobs"), "--n-concurrent", "3"]) == 0
    finally:
        os.chdir(cwd)
    job = work / "jobs" / "no-model-off-oracle-k5"
    write_missing_audits(job)
    release = build_manifest(ProjectPaths(REPO), ReleaseIdentity("opsbench", "0.1.0"), TASKS)
    release_file = work / "release.json"
    release_file.write_text(render_manifest(release))
    metadata_file = work / "metadata.yaml"
    metadata_file.write_text(METADATA)
    out = work / "out"
    code = main(
        [
            *("submit", str(job), "--metadata", str(metadata_file)),
            *("--out", str(out), "--release", str(release_file)),
        ]
    )
    assert code == 0
    package = out / "submissions" / "opsbench" / "0.1.0" / PACKAGE_NAME
    return Made(job, release_file, release, metadata_file, package)


def write_missing_audits(job: Path) -> None:
    for trial_dir in JobPaths(job).trial_dirs():
        paths = TrialPaths(trial_dir)
        result = TrialResult.model_validate_json(paths.result.read_bytes())
        if result.rewards and result.rewards.passed and not paths.audit.is_file():
            audit = TrialAudit(trial_name=result.trial_name, passed=True)
            paths.audit.write_text(audit.model_dump_json(indent=2))


@pytest.fixture
def package(made: Made, tmp_path: Path) -> Iterator[Path]:
    """A fresh copy of the oracle package, in the submissions layout, to alter."""
    target = tmp_path / "submissions" / "opsbench" / "0.1.0" / PACKAGE_NAME
    shutil.copytree(made.package, target, symlinks=True)
    yield target
