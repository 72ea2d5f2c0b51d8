"""One trial, start to finish: the template every trial follows.

    preflight → provision → prepare → agent → verify → restore → record

The first failure decides the outcome (classified by `opsbench.failures`); restore and
record always run, so no container or network outlives its trial and `result.json` is
always written — last, atomically — even on Ctrl-C. The template speaks only to the
`Runtime` it is given (Docker unless told otherwise) and the environment it provisions.
"""

from __future__ import annotations

import threading
from pathlib import Path

from opsbench.models.result import TrialResult
from opsbench.models.trajectory import write_json_atomic
from opsbench.models.trial import TrialConfig
from opsbench.paths import TaskPaths, TrialPaths
from opsbench.runtime.base import Runtime
from opsbench.runtime.environment import DockerRuntime
from opsbench.trial import harbor
from opsbench.trial.agent import run_agent
from opsbench.trial.prepare import prepare
from opsbench.trial.provision import build_image, provision
from opsbench.trial.record import record
from opsbench.trial.restore import restore
from opsbench.trial.state import TrialState
from opsbench.trial.verify import verify


def run_trial(
    config: TrialConfig,
    trial_dir: Path,
    cancel: threading.Event | None = None,
    runtime: Runtime | None = None,
) -> TrialResult:
    paths = TrialPaths(trial_dir)
    paths.make()
    write_json_atomic(paths.config, config.model_dump(mode="json"))
    task = TaskPaths(Path(config.task_dir))
    spec, harbor_task = harbor.load_spec(task)  # ours, or a Harbor task's synthetic spec
    state = TrialState(
        config, paths, task, spec, cancel or threading.Event(), runtime or DockerRuntime()
    )
    try:
        with state.phase("preflight"):
            state.check_cancel()
            if harbor_task:
                harbor.check_task(state, harbor_task)
            build_image(state)
            if harbor_task:
                harbor.adopt_image_workdir(state, harbor_task)
        with state.phase("provision"):
            state.check_cancel()
            env = provision(state)
        with state.phase("prepare"):
            state.check_cancel()
            if not harbor_task:
                prepare(state, env.verifier)
        with state.phase("agent"):
            state.check_cancel()
            run_agent(state, env.agent_sandbox())
        with state.phase("verify"):
            if harbor_task:
                harbor.verify(state, env, harbor_task)
            else:
                verify(state, env)
    except BaseException as exc:
        state.fail(exc, "unknown")  # no-op when a phase already classified it
        if not isinstance(exc, Exception):
            raise  # Ctrl-C: torn down and recorded below, then passed on
    finally:
        result = _finish(state)
    return result


def _finish(state: TrialState) -> TrialResult:
    with_phase = state.phase("restore")
    try:
        with with_phase:
            restore(state)
    except BaseException as exc:
        try:
            state.log(f"restore failed: {exc}")
        finally:  # the phase may have failed before restore ran (its dir moved away)
            if state.env is not None:
                state.env.teardown()  # idempotent, never raises
    return record(state)
