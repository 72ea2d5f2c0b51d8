"""Provision: the task image (cached), then the trial's environment from a typed plan.

This phase decides what to start (the plan: image, sidecars and their data, resource
overrides); the trial's runtime decides how.
"""

from __future__ import annotations

from collections.abc import Callable

from opsbench.agent import UnknownAgent, resolve_agent
from opsbench.builtin_images import BUILTIN_SIDECARS
from opsbench.models.spec import TaskSpec
from opsbench.paths import JobPaths, SuitePaths
from opsbench.runtime.base import Archive, EnvironmentPlan, SidecarPlan, TrialEnvironment
from opsbench.trial.state import TrialState

INSTALL_TIMEOUT_SEC = 1800
"""An agent install downloads a CLI (and maybe a Node.js) once per task image."""

SidecarData = Callable[[str], tuple[list[Archive], list[Archive]]]
"""name -> (archives for the sidecar, archives for the main container), for built-ins."""


def build_image(state: TrialState) -> None:
    """The task image, then the installed agent's layer over it when the agent has one
    (a CLI that fails to install is an infra error with its build log in trial.log)."""
    timeout = state.spec.environment.timeouts.build_sec
    state.image = state.runtime.ensure_image(state.task.environment, state.spec.id, timeout)
    state.log(f"image {state.image}")
    try:
        agent_cls = resolve_agent(state.config.agent)
    except UnknownAgent:
        return  # a label, not an agent: `opsbench.open` names its sessions (jobs refuse
        # an unknown agent before any trial)
    layer = agent_cls.install_layer(dict(state.config.agent_kwargs))
    if layer is not None:
        state.image = state.runtime.ensure_agent_image(state.image, layer, INSTALL_TIMEOUT_SEC)
        state.log(f"agent image {state.image} ({layer.agent} {layer.version})")


def sidecar_plans(
    spec: TaskSpec, data: SidecarData | None
) -> tuple[list[SidecarPlan], list[Archive]]:
    """Sidecars the task declares; `data(name)` gives (sidecar, main) archives for built-ins."""
    plans: list[SidecarPlan] = []
    main_archives: list[Archive] = []
    for name in spec.environment.sidecars:
        builtin = BUILTIN_SIDECARS[name]
        side, main = data(name) if data else ([], [])
        main_archives.extend(main)
        plans.append(
            SidecarPlan(name, builtin.image, builtin.port, list(builtin.healthcheck), archives=side)
        )
    for custom in spec.environment.custom_sidecars:
        plans.append(
            SidecarPlan(
                custom.name,
                custom.image,
                custom.port,
                ["CMD-SHELL", custom.healthcheck],
                dict(custom.environment),
                custom.command,
            )
        )
    return plans, main_archives


def _sidecar_data(state: TrialState) -> SidecarData:
    """Archives for built-in sidecars (the o11y telemetry for this job's scenario clock)."""

    def data(name: str) -> tuple[list[Archive], list[Archive]]:
        if name != "o11y":
            return [], []
        from opsbench.o11y import prepare_o11y  # built once per scenario clock, cached

        job = JobPaths.of_trial(state.paths)
        suite = SuitePaths.of_job(job)
        cache = suite.cache if suite else job.cache  # keyed by clock and seed: safe to share
        prepared = prepare_o11y(cache, state.config.scenario_time, state.config.seed)
        return (
            [Archive(a.path, a.data) for a in prepared.sidecar],
            [Archive(a.path, a.data) for a in prepared.main],
        )

    return data


def plan_environment(state: TrialState) -> EnvironmentPlan:
    sidecars, main_archives = sidecar_plans(state.spec, _sidecar_data(state))
    return EnvironmentPlan(
        job=state.config.job_name,
        trial=state.config.trial_name,
        image=state.image,
        spec=state.spec,
        sidecars=sidecars,
        main_archives=main_archives,
        cpus=state.config.override_cpus,
        memory_mb=state.config.override_memory_mb,
        instance=str(state.paths.dir.resolve()),
    )


def provision(state: TrialState) -> TrialEnvironment:
    timeout = state.spec.environment.timeouts.provision_sec
    state.env = state.runtime.provision(plan_environment(state), timeout, state.log)
    return state.env
