"""`opsbench submit`: the package layout, copies only, warnings before writing, and a
commit on a new branch of a git checkout (a local bare repository stands in for GitHub)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from opsbench.cli import main
from tests.submissions.conftest import PACKAGE_NAME, Made

pytestmark = pytest.mark.docker

JOB = "no-model-off-oracle-k5"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def test_the_package_holds_copies_and_complete_metadata(made: Made) -> None:
    pkg = made.package

    assert pkg.parts[-4:] == ("submissions", "opsbench", "0.1.0", PACKAGE_NAME)
    meta = yaml.safe_load((pkg / "metadata.yaml").read_text())
    assert (meta["benchmark"], meta["version"]) == ("opsbench", "0.1.0")
    assert meta["agent"]["display_name"] == "Oracle (reference solutions)"
    trials = sorted(p.name for p in (pkg / JOB).iterdir() if "__" in p.name)
    assert len(trials) == 15
    for path in pkg.rglob("*"):
        assert not path.is_symlink(), path
    original = made.job / "nginx-bad-upstream__3" / "result.json"
    assert (pkg / JOB / "nginx-bad-upstream__3" / "result.json").read_bytes() == (
        original.read_bytes()
    )
    assert not (pkg / JOB / ".cache").exists()


def test_submit_warns_about_what_the_validator_would_reject(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = tmp_path / JOB
    subprocess.run(["cp", "-a", str(made.job), str(job)], check=True)
    config = json.loads((job / "config.json").read_text())
    config["override_memory_mb"] = 4096
    (job / "config.json").write_text(json.dumps(config))
    os.symlink("/etc/hostname", job / "hostname")

    code = main(
        [
            *("submit", str(job), "--metadata", str(made.metadata_file)),
            *("--out", str(tmp_path / "out"), "--release", str(made.release_file)),
        ]
    )

    err = capsys.readouterr().err
    assert code == 0
    assert f"warning: skipped (not a regular file): {job / 'hostname'}" in err
    assert "warning: would be rejected by settings: " in err
    assert f"{JOB}/config.json: override_memory_mb is 4096" in err
    assert "the validator would reject this package (1 rule(s))" in err
    written = tmp_path / "out" / "submissions" / "opsbench" / "0.1.0" / PACKAGE_NAME
    assert (written / JOB / "config.json").is_file()
    assert not (written / JOB / "hostname").exists()


def test_submit_commits_on_a_new_branch_ready_to_push(made: Made, tmp_path: Path) -> None:
    bare = tmp_path / "submissions.git"
    git(tmp_path, "init", "--quiet", "--bare", "-b", "main", str(bare))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(bare), str(clone))
    git(clone, "config", "user.name", "Submitter")
    git(clone, "config", "user.email", "submitter@example.org")
    (clone / "README.md").write_text("submissions\n")
    git(clone, "add", "README.md")
    git(clone, "commit", "--quiet", "-m", "init")
    git(clone, "push", "--quiet", "origin", "main")

    code = main(
        [
            *("submit", str(made.job), "--metadata", str(made.metadata_file)),
            *("--repo", str(clone), "--release", str(made.release_file)),
        ]
    )

    assert code == 0
    branch = f"submission/opsbench-0.1.0/{PACKAGE_NAME}"
    assert git(clone, "branch", "--show-current").strip() == branch
    assert git(clone, "status", "--porcelain") == ""
    git(clone, "push", "--quiet", "origin", branch)
    files = git(bare, "ls-tree", "-r", "--name-only", branch).splitlines()
    prefix = f"submissions/opsbench/0.1.0/{PACKAGE_NAME}/"
    assert f"{prefix}metadata.yaml" in files
    assert f"{prefix}{JOB}/nginx-bad-upstream__5/result.json" in files
    assert sum(f.endswith("/result.json") for f in files) == 15 + 1  # and the job summary
    assert git(bare, "ls-tree", "-r", "--name-only", "main").splitlines() == ["README.md"]
    assert "Oracle (reference solutions)" in git(bare, "log", "-1", "--format=%s", branch)


def test_a_failed_submit_leaves_the_checkout_as_it_was(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "init", "--quiet", "-b", "main", str(clone))
    git(clone, "config", "user.name", "Submitter")
    git(clone, "config", "user.email", "submitter@example.org")
    taken = clone / "submissions" / "opsbench" / "0.1.0" / PACKAGE_NAME
    taken.mkdir(parents=True)
    (taken / "metadata.yaml").write_text("earlier\n")
    git(clone, "add", ".")
    git(clone, "commit", "--quiet", "-m", "an earlier submission")

    code = main(
        [
            *("submit", str(made.job), "--metadata", str(made.metadata_file)),
            *("--repo", str(clone), "--release", str(made.release_file)),
        ]
    )

    assert code == 2
    assert "already exists; remove it first" in capsys.readouterr().err
    assert git(clone, "branch", "--show-current").strip() == "main"
    assert git(clone, "branch", "--list").split() == ["*", "main"]
    assert git(clone, "status", "--porcelain") == ""
