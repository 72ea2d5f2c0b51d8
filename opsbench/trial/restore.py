"""Restore: the task's restore steps (best effort), then tear everything down. Always runs."""

from __future__ import annotations

from opsbench.trial.state import TrialState


def restore(state: TrialState) -> None:
    env = state.env
    if env is None:
        return
    try:
        if env.main_state().running:
            for step in state.spec.restore:
                out = env.verifier.exec(step.run, timeout=step.timeout_sec, user=step.user)
                if out.exit_code != 0:
                    state.log(f"restore step exited {out.exit_code}: {out.stderr[-300:]}")
    except Exception as exc:  # restore must never stop teardown
        state.log(f"restore: {type(exc).__name__}: {exc}")
    finally:
        env.teardown()
        state.log("teardown complete")
