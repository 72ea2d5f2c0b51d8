"""The trial template's guarantees without Docker: phase order, cancellation, the agent's
deadline, and that every trial — however it ends — is torn down once and recorded."""

from __future__ import annotations

import _thread
import threading

import pytest

from opsbench.failures import InfraError
from opsbench.models.result import Outcome, TrialResult
from opsbench.paths import TrialPaths
from tests.fakes.runtime import FakeRuntime
from tests.trial.conftest import Runner

PHASES = ["preflight", "provision", "prepare", "agent", "verify", "restore"]


def recorded(paths: TrialPaths) -> TrialResult:
    return TrialResult.model_validate_json(paths.result.read_text())


def test_phases_run_in_order_and_are_recorded(run: Runner) -> None:
    ran = run()
    assert ran.result.outcome == Outcome.GRADED
    assert ran.result.rewards is not None and ran.result.rewards.passed
    saved = recorded(ran.paths)
    assert list(saved.phases) == PHASES
    assert all(timing.ok for timing in saved.phases.values())
    assert ran.phase_order() == PHASES
    assert ran.paths.log.read_text().splitlines()[-1].endswith("recorded outcome graded")
    # each phase reached the runtime in turn: prepare twice (run the script, remove it),
    # the agent twice (its command, then whoami)
    assert ran.runtime.touched == [
        "preflight", "provision", "prepare", "prepare", "agent", "agent", "verify", "restore"
    ]  # fmt: skip
    assert "echo done > /root/done" in ran.paths.commands.read_text()  # audited
    assert ran.runtime.env.teardowns == 1


@pytest.mark.parametrize("phase", ["preflight", "provision", "prepare", "agent"])
def test_cancel_before_a_phase_is_cancelled_and_torn_down(run: Runner, phase: str) -> None:
    cancel = threading.Event()
    before = PHASES[PHASES.index(phase) - 1] if phase != "preflight" else None
    if before is None:
        cancel.set()
    runtime = FakeRuntime(on={before: cancel.set} if before else {})
    ran = run(runtime, cancel=cancel)
    assert ran.result.outcome == Outcome.CANCELLED
    assert ran.result.exception is not None and ran.result.exception.phase == phase
    assert phase not in runtime.touched  # the phase never started its work
    saved = recorded(ran.paths)
    assert list(saved.phases) == [*PHASES[: PHASES.index(phase) + 1], "restore"]
    assert saved.phases[phase].ok is False and saved.rewards is None
    provisioned = phase in ("prepare", "agent")
    assert [env.teardowns for env in runtime.environments] == ([1] if provisioned else [])


def test_cancel_during_the_agent_freezes_it(run: Runner) -> None:
    cancel = threading.Event()
    runtime = FakeRuntime(hang_in="agent", on={"agent": cancel.set})
    ran = run(runtime, cancel=cancel)
    assert ran.result.outcome == Outcome.CANCELLED
    assert ran.result.exception is not None and ran.result.exception.phase == "agent"
    assert runtime.env.freezes == 1 and runtime.env.agent_handles[0].closed.is_set()
    assert runtime.env.teardowns == 1
    assert "verify" not in recorded(ran.paths).phases


def test_agent_timeout_freezes_the_agent_and_the_verifier_still_works(run: Runner) -> None:
    runtime = FakeRuntime(hang_in="agent")
    ran = run(runtime, timeout_multiplier=0.01)  # 20 s * 0.01: a 0.2 s deadline
    assert ran.result.outcome == Outcome.AGENT_TIMEOUT
    assert ran.result.exception is not None and "within 0.2s" in ran.result.exception.message
    assert runtime.env.freezes == 1 and runtime.env.agent_handles[0].closed.is_set()
    assert runtime.touched[-1] == "restore"  # restore steps ran through the verifier
    assert runtime.env.teardowns == 1
    assert recorded(ran.paths).outcome == Outcome.AGENT_TIMEOUT


OUTCOME_OF_AN_EXCEPTION = {
    "preflight": Outcome.INFRA_ERROR,
    "provision": Outcome.INFRA_ERROR,
    "prepare": Outcome.INFRA_ERROR,
    "agent": Outcome.AGENT_ERROR,  # raised in the agent's thread, through its handle
    "verify": Outcome.GRADED,  # grading records a check that could not run as failed
    "restore": Outcome.GRADED,  # restore is best effort: the verdict stands
}


@pytest.mark.parametrize("phase", PHASES)
def test_an_exception_in_any_phase_is_recorded_and_torn_down_once(run: Runner, phase: str) -> None:
    runtime = FakeRuntime(fail_in=phase, failure=RuntimeError("boom"))
    ran = run(runtime)
    assert ran.result.outcome == OUTCOME_OF_AN_EXCEPTION[phase]
    assert recorded(ran.paths) == ran.result
    if ran.result.outcome != Outcome.GRADED:
        assert ran.result.exception is not None and ran.result.exception.phase == phase
        assert "boom" in ran.result.exception.message
    assert [env.teardowns for env in runtime.environments] == ([] if phase == "preflight" else [1])


@pytest.mark.parametrize("phase", ["preflight", "provision", "prepare", "verify"])
def test_ctrl_c_in_a_phase_is_recorded_torn_down_once_and_passed_on(
    run: Runner, trial_paths: TrialPaths, phase: str
) -> None:
    runtime = FakeRuntime(fail_in=phase, failure=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        run(runtime)
    result = recorded(trial_paths)
    assert result.outcome == Outcome.CANCELLED
    assert result.exception is not None and result.exception.phase == phase
    assert trial_paths.log.read_text().splitlines()[-1].endswith("recorded outcome cancelled")
    assert [env.teardowns for env in runtime.environments] == ([] if phase == "preflight" else [1])


def test_ctrl_c_while_the_agent_runs_is_recorded_and_torn_down(
    run: Runner, trial_paths: TrialPaths
) -> None:
    def interrupt_soon() -> None:
        threading.Timer(0.1, _thread.interrupt_main).start()  # as a real Ctrl-C arrives

    runtime = FakeRuntime(hang_in="agent", on={"agent": interrupt_soon})
    with pytest.raises(KeyboardInterrupt):
        run(runtime)
    result = recorded(trial_paths)
    assert result.outcome == Outcome.CANCELLED
    assert result.exception is not None and result.exception.phase == "agent"
    assert runtime.env.agent_handles[0].closed.is_set()
    assert runtime.env.teardowns == 1


def test_provision_failure_is_infra_error_and_leaves_nothing(run: Runner) -> None:
    runtime = FakeRuntime(fail_in="provision", failure=InfraError("sidecar web unhealthy"))
    ran = run(runtime)
    assert ran.result.outcome == Outcome.INFRA_ERROR
    assert ran.result.exception is not None
    assert ran.result.exception.message == "sidecar web unhealthy"
    assert list(recorded(ran.paths).phases) == ["preflight", "provision", "restore"]
    assert runtime.env.teardowns == 1  # the runtime removed what it had started


@pytest.mark.parametrize(("oom", "why"), [(True, "was OOM-killed"), (False, "stopped")])
def test_main_container_stopped_during_the_agent_is_agent_error(
    run: Runner, oom: bool, why: str
) -> None:
    runtime = FakeRuntime()
    runtime.on["agent"] = lambda: runtime.env.stop_main(oom_killed=oom)
    ran = run(runtime)
    assert ran.result.outcome == Outcome.AGENT_ERROR
    assert ran.result.exception is not None and ran.result.exception.phase == "verify"
    assert f"the task container {why} during the agent phase" in ran.result.exception.message
    assert "restore" not in runtime.touched  # nothing left to restore in a dead container
    assert runtime.env.teardowns == 1
