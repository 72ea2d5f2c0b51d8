"""Prepare: inject the task's failure as root. A prepare that fails is infrastructure's
fault, never the agent's. The script is removed afterwards so the agent cannot read how
the failure was made."""

from __future__ import annotations

from opsbench.failures import InfraError
from opsbench.sandbox import Sandbox
from opsbench.trial.state import TrialState

PREPARE_PATH = "/opt/opsbench/prepare.sh"


def prepare(state: TrialState, sandbox: Sandbox) -> None:
    timeout = state.spec.environment.timeouts.prepare_sec
    out = sandbox.exec(f"bash {PREPARE_PATH}", timeout=timeout, user="root")
    state.log(f"prepare exit {out.exit_code}\n{out.stdout[-4000:]}{out.stderr[-4000:]}")
    if out.exit_code != 0:
        why = "timed out" if out.timed_out else f"exited {out.exit_code}"
        raise InfraError(f"prepare {why}: {(out.stderr or out.stdout).strip()[-500:]}")
    sandbox.exec(f"rm -f {PREPARE_PATH} /opt/opsbench/entrypoint.sh", timeout=30, user="root")
