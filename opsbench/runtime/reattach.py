"""Rejoin a Docker trial environment another process provisioned and left up.

`opsbench shell --keep` leaves a prepared environment running when its process exits;
`opsbench shell --attach` finds it again by the names `DockerEnvironment` gives every
trial (a hash of job and trial) and takes it over: grading, then teardown, as if it had
provisioned it itself.
"""

from __future__ import annotations

import contextlib

from opsbench.failures import InfraError
from opsbench.runtime.base import EnvironmentPlan, TrialLog
from opsbench.runtime.docker import client
from opsbench.runtime.environment import DockerEnvironment
from opsbench.runtime.sandbox_docker import DockerSandbox
from opsbench.sandbox import Endpoint


def reattach(plan: EnvironmentPlan, trial_log: TrialLog) -> DockerEnvironment:
    """The environment of `plan`'s job and trial, still running; InfraError if it is gone."""
    import docker.errors

    env = DockerEnvironment(plan, trial_log)
    c = client()
    try:
        env.network = c.networks.get(f"{env.prefix}-net")
        sidecars = [c.containers.get(f"{env.prefix}-{s.name}") for s in plan.sidecars]
        env.main = c.containers.get(f"{env.prefix}-main")
    except docker.errors.NotFound as exc:
        raise InfraError(f"the kept environment of {plan.trial} is gone: {exc}") from exc
    if not env.main_state().running:
        raise InfraError(f"the kept environment of {plan.trial} is not running")
    with contextlib.suppress(docker.errors.NotFound):  # the first process's verifier
        c.containers.get(f"{env.prefix}-verifier").remove(force=True)
    env.containers = [*sidecars, env.main]
    env.endpoints = {s.name: Endpoint(s.name, s.name, s.port) for s in plan.sidecars}
    env.sandbox = DockerSandbox(env.main, env.endpoints, "root", plan.spec.environment.workdir)
    env._start_verifier()  # as start() does: grading needs its verifier running
    return env
