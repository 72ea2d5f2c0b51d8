"""The Harbor path: a generated task graded in-container by its own tests/test.sh.

The container starts through the image's entrypoint, as Harbor starts it (which injects
the failure with prepare.sh and removes the script); the solution and the tests are copied
in as Harbor copies them, and /logs/verifier/reward.txt is read back.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

from opsbench.paths import ProjectPaths, TaskPaths
from opsbench.runtime.docker import client, labels
from opsbench.runtime.images import ensure_task_image
from opsbench.sync import sync
from tests.runtime.conftest import write_spec
from tests.runtime.test_trials import SIMPLE


def _put_dir(container: Any, local: Path, remote: str) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(str(local), arcname=remote.strip("/"))
    container.put_archive("/", buf.getvalue())


def _harbor_grade(task: TaskPaths, image: str, solve: bool) -> tuple[float, dict[str, Any]]:
    container = client().containers.run(
        image, detach=True, labels=labels("harbor-path", task.task_id, "main")
    )
    try:
        for _ in range(50):  # the entrypoint runs prepare.sh, then execs the command
            if container.exec_run(["test", "-e", "/opt/opsbench/prepare.sh"]).exit_code != 0:
                break
        assert container.exec_run(["cat", "/root/prepared"]).output.strip() == b"prepared"
        if solve:
            _put_dir(container, task.solution, "/solution")
            assert container.exec_run(["bash", "/solution/solve.sh"]).exit_code == 0
        _put_dir(container, task.tests, "/tests")
        run = container.exec_run(["bash", "/tests/test.sh"])
        assert run.exit_code == 0, run.output.decode()
        reward = float(container.exec_run(["cat", "/logs/verifier/reward.txt"]).output)
        score = json.loads(container.exec_run(["cat", "/logs/verifier/reward.json"]).output)
        return reward, score
    finally:
        container.remove(force=True)


def test_harbor_verifier_grades_in_container(project: ProjectPaths, docker_images: None) -> None:
    write_spec(project, "basic", "touch-file", SIMPLE)
    sync(project)
    task = TaskPaths(project.tasks / "touch-file")
    image = ensure_task_image(task.environment, task.task_id, 600)
    reward, score = _harbor_grade(task, image, solve=True)
    assert reward == 1.0 and score["task"] is True
    reward, score = _harbor_grade(task, image, solve=False)
    assert reward == 0.0 and score["task"] is False
