"""The images the installed-agent tests need, built in the background from the start of
the session: the model gateway, the task image and each CLI's install layer over it.

Cold, these are minutes of downloads (npm, PyPI: 43 s to 253 s a CLI on this machine)
that would otherwise sit on the critical path of the suite. `tests/conftest.py` starts
them when installed-agent tests are collected and runs those tests last; each test waits
for the builds through `wait()`, which re-raises a failed build. Every xdist worker
collects these tests and starts the builds, so they take a lock across processes: the
first builds, the others then find the images cached. The images are the
ones a trial would build (same contexts, same digests), made with the product's own
functions, so a trial finds them cached and the tests still exercise the real layers.
"""

from __future__ import annotations

import fcntl
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_SEC = 1800.0
LOCK = Path(tempfile.gettempdir()) / "opsbench-warm-agent-images.lock"

_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warm-agent-images")
_builds: Future[None] | None = None


def start(agents: list[str]) -> None:
    """Begin building, once per session."""
    global _builds
    if _builds is None:
        _builds = _pool.submit(_build, agents)


def wait() -> None:
    """Block until the builds are done (at once when none were started)."""
    if _builds is not None:
        _builds.result()


def _build(agents: list[str]) -> None:
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        _build_locked(agents)


def _build_locked(agents: list[str]) -> None:
    from opsbench.agent import resolve_agent
    from opsbench.paths import ProjectPaths, TaskPaths
    from opsbench.runtime.images import ensure_agent_image, ensure_gateway, ensure_task_image
    from opsbench.sync import sync
    from tests.agents.installed import TASK

    ensure_gateway(REPO / "environment")
    with tempfile.TemporaryDirectory(prefix="opsbench-warm-") as tmp:
        root = Path(tmp)
        (root / "tasks-spec" / "_templates").mkdir(parents=True)
        (root / "tasks-spec" / "remediation").mkdir(parents=True)
        shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
        shutil.copytree(REPO / "environment" / "base", root / "environment" / "base")
        spec = REPO / "tasks-spec" / "remediation" / "log-dir-permissions.yaml"
        shutil.copy(spec, root / "tasks-spec" / "remediation" / spec.name)
        project = ProjectPaths(root)
        sync(project)
        task = TaskPaths(project.tasks / TASK)
        image = ensure_task_image(task.environment, TASK, BUILD_TIMEOUT_SEC)
    for name in agents:
        layer = resolve_agent(name).install_layer({})
        if layer is not None:
            ensure_agent_image(
                image, layer.agent, layer.version, layer.dockerfile, BUILD_TIMEOUT_SEC
            )
