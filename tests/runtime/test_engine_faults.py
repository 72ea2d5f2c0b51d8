"""Engine faults are infrastructure, always: through a fault-injecting proxy, never by
restarting the engine other people's runs share.

Each case ends with the trial classified `infra_error` (never graded with a failed check,
never `agent_error`), and nothing of the trial left running.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsbench.failures import AgentError
from opsbench.models.result import Outcome
from opsbench.paths import ProjectPaths
from opsbench.runtime import engine
from opsbench.runtime.docker import client
from tests.fakes.engine_proxy import EngineProxy, install
from tests.runtime.conftest import TrialRunner, leftovers, write_spec
from tests.runtime.test_trials import SIMPLE

AGENTS = "tests.runtime.fault_agents"


def _reset_engine_state() -> None:
    client.cache_clear()
    engine.watch.last_fault = None
    engine.watch.suspect = False


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[EngineProxy]:
    """The engine behind a proxy this test controls; DOCKER_HOST points at it."""
    sock_dir = Path(tempfile.mkdtemp(prefix="ep-", dir="/tmp"))  # unix paths are short
    p = EngineProxy(sock_dir / "engine.sock")
    monkeypatch.setenv("DOCKER_HOST", p.docker_host)
    _reset_engine_state()
    install(p)
    yield p
    install(None)
    p.close()
    monkeypatch.delenv("DOCKER_HOST")
    _reset_engine_state()


@pytest.fixture
def simple(project: ProjectPaths) -> ProjectPaths:
    write_spec(project, "basic", "touch-file", SIMPLE)
    return project


def test_a_check_whose_exec_got_a_500_makes_the_trial_infra_error(
    simple: ProjectPaths, run_task: TrialRunner, proxy: EngineProxy
) -> None:
    result, paths = run_task("touch-file", f"{AGENTS}:SolveThenExecsFail", job="fault-500")

    assert proxy.requests_failed > 0
    assert result.outcome == Outcome.INFRA_ERROR, result.exception
    assert result.exception is not None and "500" in result.exception.message
    assert result.rewards is None and not paths.reward_json.exists()
    proxy.set_mode("forward")
    assert leftovers("fault-500") == ([], [])


@pytest.mark.parametrize("mode", ["abort", "refuse"])
def test_engine_unreachable_mid_agent_is_infra_error(
    simple: ProjectPaths, run_task: TrialRunner, proxy: EngineProxy, mode: str
) -> None:
    job = f"fault-{mode}"
    result, _ = run_task("touch-file", f"{AGENTS}:EngineGoesAway", job=job, mode=mode)

    assert result.outcome == Outcome.INFRA_ERROR, result.exception
    assert result.exception is not None and "unreachable" in result.exception.message
    assert leftovers(job) == ([], [])  # teardown waited for the engine to come back


def test_an_agent_that_swallows_the_engine_error_is_still_not_graded(
    simple: ProjectPaths, run_task: TrialRunner, proxy: EngineProxy
) -> None:
    result, _ = run_task(
        "touch-file", f"{AGENTS}:EngineGoesAway", job="fault-swallow", swallow=True
    )

    assert result.outcome == Outcome.INFRA_ERROR, result.exception
    assert result.rewards is None
    assert leftovers("fault-swallow") == ([], [])


def test_a_container_stopped_during_an_outage_is_not_the_agents_failure(
    simple: ProjectPaths, run_task: TrialRunner, proxy: EngineProxy
) -> None:
    result, _ = run_task("touch-file", f"{AGENTS}:EngineStopsContainer", job="fault-stopped")

    assert result.outcome == Outcome.INFRA_ERROR, result.exception
    assert leftovers("fault-stopped") == ([], [])


def test_a_container_the_agent_killed_is_still_the_agents_failure(
    simple: ProjectPaths, run_task: TrialRunner
) -> None:
    result, _ = run_task("touch-file", f"{AGENTS}:KillsItsOwnContainer", job="fault-own")

    assert result.outcome == Outcome.AGENT_ERROR, result.exception
    assert result.exception is not None and "exit code" in result.exception.message
    assert leftovers("fault-own") == ([], [])


# --------------------------------------------------------------------------- stop reasons

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
STARTED = "2026-01-01T12:00:05.123456789Z"


def _stopped(**extra: object) -> dict[str, object]:
    return {"Running": False, "ExitCode": 137, "OOMKilled": False, "StartedAt": STARTED, **extra}


def test_stop_reasons_from_what_the_engine_says() -> None:
    _reset_engine_state()
    running_sidecar = [{"Running": True}]

    oom = engine.stop_failure(_stopped(OOMKilled=True), running_sidecar, T0)
    assert isinstance(oom, AgentError) and "OOM" in str(oom)

    own = engine.stop_failure(_stopped(ExitCode=143), running_sidecar, T0, T0)
    assert isinstance(own, AgentError) and "143" in str(own)

    restarted = engine.stop_failure(_stopped(), running_sidecar, T0, T0 + timedelta(minutes=1))
    assert isinstance(restarted, engine.EngineUnavailable) and "restarted" in str(restarted)

    runtime = engine.stop_failure(_stopped(Error="shim disconnected"), running_sidecar, T0)
    assert isinstance(runtime, engine.EngineUnavailable)

    together = engine.stop_failure(_stopped(), [{"Running": False}], T0)
    assert isinstance(together, engine.EngineUnavailable) and "sidecars" in str(together)

    engine.watch.note()
    during_outage = engine.stop_failure(_stopped(), running_sidecar, T0)
    assert isinstance(during_outage, engine.EngineUnavailable)
    _reset_engine_state()


def test_the_local_engines_start_time_is_known() -> None:
    started = engine.engine_start_time()
    assert started is None or started < datetime.now(UTC)
