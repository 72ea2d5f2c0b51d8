"""Harbor-format tasks through `opsbench job --path`, on real Docker.

The dataset under tests/fixtures/harbor/demo was scaffolded with `harbor init` (one task
in shared verifier mode, one in Harbor's default separate mode). Its `FROM ubuntu:24.04`
cannot be pulled here, so the runs map it to the local base image. Bad tasks are copies
with one thing broken each: whatever is the verifier's fault is `infra_error`, never a
score of the agent's.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

from opsbench.cli import main
from opsbench.metrics import load_results
from opsbench.models.result import Outcome, TrialResult
from opsbench.paths import JobPaths
from tests.runtime.conftest import leftovers

pytestmark = pytest.mark.docker

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "harbor" / "demo"
MAP = ["--image-map", "ubuntu:24.04=opsbench-base:2"]


RUN = uuid.uuid4().hex[:8]
"""Job names are engine-wide labels: this run's own, so other runs never mix in."""


def job_name(agent: str) -> str:
    return f"harbor-{agent}-{RUN}"


def run_job(path: Path, jobs: Path, agent: str, *extra: str) -> int:
    return main(
        [
            "job",
            "--path",
            str(path),
            "--agent",
            agent,
            "--n-attempts",
            "1",
            "--jobs-dir",
            str(jobs),
            "--job-name",
            job_name(agent),
            "--quiet",
            *extra,
        ]
    )


def results(jobs: Path, name: str) -> dict[str, TrialResult]:
    return {r.task_id: r for r in load_results(JobPaths(jobs / job_name(name)).dir)}


def test_oracle_scores_one_and_nop_zero(
    tmp_path: Path, docker_images: None, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = tmp_path / "jobs"
    assert run_job(FIXTURES, jobs, "oracle", *MAP) == 0
    oracle = results(jobs, "oracle")
    assert set(oracle) == {"hello-shared", "hello-separate"}
    for task_id, r in oracle.items():
        assert r.outcome == Outcome.GRADED, (task_id, r.exception)
        assert r.rewards is not None
        assert (r.rewards.reward, r.rewards.task, r.rewards.passed) == (1.0, True, True)
        assert r.rewards.compliance is None, "not applicable, not a pass"
        assert r.category == "harbor"
    job = JobPaths(jobs / job_name("oracle"))
    assert job.report.is_file()
    trial = job.trial("hello-separate", 1)
    assert (trial.verifier / "harbor" / "reward.txt").read_text().strip() == "1"
    details = json.loads(trial.grading_details.read_text())
    assert details["checks"][0]["evidence"]["mode"] == "separate"
    assert details["score"]["compliance"] is None
    assert stored_compliance(set(oracle)) == {None}, "the store says not applicable too"
    assert leftovers(job_name("oracle")) == ([], [])

    capsys.readouterr()
    assert run_job(FIXTURES, jobs, "oracle", *MAP, "--dry-run") == 0
    assert "keep 2 · run 0" in capsys.readouterr().out, "resume keeps finished trials"

    assert run_job(FIXTURES, jobs, "nop", *MAP) == 0
    for task_id, r in results(jobs, "nop").items():
        assert r.outcome == Outcome.GRADED, (task_id, r.exception)
        assert r.rewards is not None and r.rewards.reward == 0.0 and not r.rewards.task


def stored_compliance(task_ids: set[str]) -> set[bool | None]:
    """The compliance gates the results store (the session's own) holds for these tasks."""
    import sqlalchemy as sa

    from opsbench.store.engine import open_store
    from opsbench.store.tables import trials

    store = open_store()
    try:
        with store.read() as conn:
            query = sa.select(trials.c.compliance_gate).where(trials.c.task_id.in_(task_ids))
            return set(conn.execute(query).scalars())
    finally:
        store.close()


def broken_copies(root: Path) -> Path:
    """A dataset of hello-shared copies, each broken one way."""
    dataset = root / "broken"
    for name in ("no-test-sh", "no-reward", "unmapped-image", "compose-one", "compose-two"):
        shutil.copytree(FIXTURES / "hello-shared", dataset / name)
    one = "services:\n  main:\n    build:\n      context: .\n"
    (dataset / "compose-one" / "environment" / "docker-compose.yaml").write_text(one)
    two = one + "  db:\n    image: postgres:16\n"
    (dataset / "compose-two" / "environment" / "docker-compose.yaml").write_text(two)
    (dataset / "no-test-sh" / "tests" / "test.sh").unlink()
    (dataset / "no-reward" / "tests" / "test.sh").write_text("#!/bin/bash\nexit 3\n")
    dockerfile = dataset / "unmapped-image" / "environment" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("ubuntu:24.04", "nosuch/base:1"))
    return dataset


def test_a_broken_verifier_is_infra_error(tmp_path: Path, docker_images: None) -> None:
    jobs = tmp_path / "jobs"
    assert run_job(broken_copies(tmp_path), jobs, "oracle", *MAP) == 0
    found = results(jobs, "oracle")
    assert {t: r.outcome for t, r in found.items()} == {
        "no-test-sh": Outcome.INFRA_ERROR,
        "no-reward": Outcome.INFRA_ERROR,
        "unmapped-image": Outcome.INFRA_ERROR,
        "compose-one": Outcome.GRADED,
        "compose-two": Outcome.INFRA_ERROR,
    }
    assert found["compose-one"].rewards and found["compose-one"].rewards.reward == 1.0
    messages = {t: r.exception.message for t, r in found.items() if r.exception}
    assert "tests/test.sh is missing" in messages["no-test-sh"]
    assert "wrote no /logs/verifier/reward.txt or reward.json" in messages["no-reward"]
    assert "exited 3" in messages["no-reward"]
    assert "base image nosuch/base:1" in messages["unmapped-image"]
    assert "--image-map nosuch/base:1=IMAGE" in messages["unmapped-image"]
    assert "several services (db, main)" in messages["compose-two"]
    assert found["no-reward"].exception and found["no-reward"].exception.phase == "verify"


def test_malformed_task_toml_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = tmp_path / "bad-toml"
    shutil.copytree(FIXTURES / "hello-shared", task)
    toml = task / "task.toml"
    toml.write_text(toml.read_text().replace("timeout_sec = 60.0", 'timeout_sec = "soon"', 1))
    assert run_job(task, tmp_path / "jobs", "oracle", "--dry-run") != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"{toml}: verifier.timeout_sec: ")
    assert not (tmp_path / "jobs").exists()
