"""Provision: the task image (cached), the trial's network, sidecars and main container."""

from __future__ import annotations

from opsbench.runtime.environment import (
    Archive,
    EnvironmentPlan,
    SidecarData,
    TrialEnvironment,
    sidecar_plans,
)
from opsbench.runtime.images import ensure_task_image
from opsbench.sandbox import Sandbox
from opsbench.trial.state import TrialState


def build_image(state: TrialState) -> None:
    timeout = state.spec.environment.timeouts.build_sec
    state.image = ensure_task_image(state.task.environment, state.spec.id, timeout)
    state.log(f"image {state.image}")


def _sidecar_data(state: TrialState) -> SidecarData:
    """Archives for built-in sidecars (the o11y telemetry for this job's scenario clock)."""

    def data(name: str) -> tuple[list[Archive], list[Archive]]:
        if name != "o11y":
            return [], []
        from opsbench.o11y import prepare_o11y  # built once per scenario clock, cached

        cache = state.paths.dir.parent / ".cache"
        prepared = prepare_o11y(cache, state.config.scenario_time, state.config.seed)
        return (
            [Archive(a.path, a.data) for a in prepared.sidecar],
            [Archive(a.path, a.data) for a in prepared.main],
        )

    return data


def provision(state: TrialState) -> Sandbox:
    sidecars, main_archives = sidecar_plans(state.spec, _sidecar_data(state))
    plan = EnvironmentPlan(
        job=state.config.job_name,
        trial=state.config.trial_name,
        image=state.image,
        spec=state.spec,
        sidecars=sidecars,
        main_archives=main_archives,
        cpus=state.config.override_cpus,
        memory_mb=state.config.override_memory_mb,
    )
    state.env = TrialEnvironment(plan, state.log)
    return state.env.provision(state.spec.environment.timeouts.provision_sec)
