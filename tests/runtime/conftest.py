"""Fixtures for real-Docker trial tests: a throwaway project and a trial runner."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from opsbench.compile import read_task_checksum
from opsbench.models.result import TrialResult
from opsbench.models.trial import TrialConfig
from opsbench.paths import JobPaths, ProjectPaths, TaskPaths, TrialPaths
from opsbench.runtime.docker import list_labelled
from opsbench.runtime.images import (
    ensure_task_base,
    ensure_upstream_base,
    ensure_verifier,
    resolve_ca_bundle,
)
from opsbench.sync import sync
from opsbench.trial.run import run_trial

if TYPE_CHECKING:
    from tests.fakes.openai_server import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def docker_images() -> None:
    """The base images (preflight normally built them already: then this is instant)."""
    ensure_upstream_base()
    ensure_task_base(REPO / "environment", resolve_ca_bundle(None))
    ensure_verifier(REPO / "environment")


@pytest.fixture
def project(tmp_path: Path) -> ProjectPaths:
    root = tmp_path / "project"
    (root / "tasks-spec" / "_templates").mkdir(parents=True)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "environment" / "base", root / "environment" / "base")
    return ProjectPaths(root)


def write_spec(project: ProjectPaths, category: str, name: str, text: str) -> None:
    path = project.specs / category / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


TrialRunner = Callable[..., tuple[TrialResult, TrialPaths]]


@pytest.fixture
def run_task(project: ProjectPaths, docker_images: None) -> Iterator[TrialRunner]:
    """Compile the project and run one trial of `task_id` with `agent`. The model
    gateways its trials started (installed agents) close with the test, as a job's close
    when the job ends."""
    from opsbench.gateway.jobs import close_gateways

    def runner(
        task_id: str,
        agent: str,
        job: str = "test-job",
        attempt: int = 1,
        cancel: threading.Event | None = None,
        judge_model: str | None = None,
        model: str | None = None,
        provider_settings: dict[str, Any] | None = None,
        reasoning_effort: str = "off",
        **kwargs: Any,
    ) -> tuple[TrialResult, TrialPaths]:
        sync(project)
        task = TaskPaths(project.tasks / task_id)
        cfg = TrialConfig(
            job_name=job,
            trial_name=f"{task_id}__{attempt}",
            task_id=task_id,
            attempt=attempt,
            task_dir=str(task.dir),
            task_checksum=read_task_checksum(task),
            agent=agent,
            agent_kwargs=kwargs,
            scenario_time=datetime(2026, 1, 1, tzinfo=UTC),
            judge_model=judge_model,
            model=model,
            reasoning_effort=reasoning_effort,
            provider_settings=provider_settings or {},
        )
        trial_dir = JobPaths(project.jobs / job).trial(task_id, attempt).dir
        return run_trial(cfg, trial_dir, cancel), TrialPaths(trial_dir)

    try:
        yield runner
    finally:
        close_gateways()


def leftovers(job: str) -> tuple[list[Any], list[Any]]:
    """The job's containers and networks still present (listed in one engine call each)."""
    return list_labelled(job, "containers"), list_labelled(job, "networks")


ScriptedModel = tuple["FakeOpenAIServer", dict[str, Any]]


@pytest.fixture
def scripted_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedModel]:
    """A local OpenAI-compatible server and provider settings pointing at it, with tiny
    waits and fresh per-provider gates: the model (or judge) the trial talks to."""
    from opsbench.providers import reset_gates
    from tests.fakes.openai_server import FakeOpenAIServer

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    reset_gates()
    with FakeOpenAIServer() as server:
        settings = {
            "api_base": server.url,
            "max_retries": 2,
            "backoff_initial": 0.01,
            "backoff_max": 0.05,
            "min_request_interval": 0,
            "rate_limit": None,
            "failure_pause": None,
            "request_timeout": 10,
        }
        yield server, settings
    reset_gates()


@pytest.fixture
def judge(scripted_model: ScriptedModel) -> ScriptedModel:
    """The scripted model in its role as the LLM judge."""
    return scripted_model


@pytest.fixture
def model(scripted_model: ScriptedModel) -> ScriptedModel:
    """The scripted model in its role as the agent's model."""
    return scripted_model
