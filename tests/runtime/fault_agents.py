"""Agents that make the engine fail mid-trial through the test's engine proxy."""

from __future__ import annotations

import threading
import time

import docker

from opsbench.agent import Agent, AgentContext
from opsbench.sandbox import Sandbox
from tests.fakes import engine_proxy


def _heal_in(seconds: float) -> None:
    threading.Timer(seconds, engine_proxy.current().set_mode, args=("forward",)).start()


class SolveThenExecsFail(Agent):
    """Does the task, then the engine starts answering 500 to every exec (the checks')."""

    name = "solve-then-500"

    def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        sandbox.exec("echo done > /root/done", user="root")
        engine_proxy.current().set_mode("checks500")


class EngineGoesAway(Agent):
    """The engine drops every connection mid-agent and is back two seconds later."""

    name = "engine-goes-away"

    def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        sandbox.exec("echo done > /root/done", user="root")
        engine_proxy.current().set_mode(str(self.config.kwargs.get("mode", "abort")))
        _heal_in(2.0)
        try:
            sandbox.exec("true")
        except Exception:
            if not self.config.kwargs.get("swallow"):
                raise  # most agents let it escape; a tolerant one carries on


class EngineStopsContainer(Agent):
    """While the engine is unreachable, the container is killed (an engine restart)."""

    name = "engine-stops-container"

    def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        sandbox.exec("echo done > /root/done", user="root")
        proxy = engine_proxy.current()
        proxy.set_mode("refuse")
        real = docker.APIClient(base_url=f"unix://{proxy.upstream}", version="auto")
        container = getattr(getattr(sandbox, "inner", sandbox), "container", None)
        assert container is not None, "expected a Docker sandbox"
        real.kill(container.id)
        _heal_in(1.0)


class KillsItsOwnContainer(Agent):
    """The agent's own doing: as root it kills the container's main process."""

    name = "kills-own-container"

    def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        sandbox.exec("kill -9 $(cat /proc/1/task/1/children); sleep 5", user="root")
        time.sleep(2)  # the engine marks the container exited a moment after the exec ends
