"""Installed CLIs, from their registries into a real task image, solve a real task against
the scripted model; their commands are graded for compliance like any agent's.

Each CLI's install layer over the task image (npm or pip downloads;
`benchmarks/agent_install.py` prints the cold figure) is built in the background from
the start of the session, and these tests run last (`tests/agents/warm.py`). CI solves
the task with all four CLIs and shows a forbidden command failing compliance with one;
`pytest -m release tests/agents/test_installed_agents.py` shows it with all four.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from opsbench.models.result import Outcome
from opsbench.paths import ProjectPaths
from tests.agents.installed import (
    FIX,
    FORBIDDEN,
    INSPECT,
    MODEL,
    SCRIPTS,
    SUMMARY,
    TASK,
    cli_model,
    commands,
    corpus_task,
)
from tests.fakes.openai_server import FakeOpenAIServer
from tests.runtime.conftest import TrialRunner, docker_images, project, run_task

__all__ = ["cli_model", "corpus_task", "docker_images", "project", "run_task"]

pytestmark = [pytest.mark.docker, pytest.mark.timeout(2400)]

AGENTS = sorted(SCRIPTS)
"""CI solves the task with every CLI (their builds run in the background from the start
of the session, `tests/agents/warm.py`)."""
FORBIDDEN_IN_CI = {"codex"}
FORBIDDEN_AGENTS = [
    pytest.param(name, marks=() if name in FORBIDDEN_IN_CI else pytest.mark.release)
    for name in AGENTS
]
"""The compliance path is the same for every CLI once its commands are recorded: CI
shows it with one, the `release` run with all four."""


@pytest.fixture(autouse=True)
def _images_built() -> None:
    """The gateway and install layers, built in the background since the session began
    (`tests/agents/warm.py`); a failed build fails here with its error."""
    from tests.agents import warm

    warm.wait()


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


@pytest.mark.parametrize("agent", AGENTS)
def test_cli_solves_a_real_task(
    agent: str,
    corpus_task: ProjectPaths,
    run_task: TrialRunner,
    cli_model: tuple[FakeOpenAIServer, dict[str, Any]],
) -> None:
    server, settings = cli_model
    script = SCRIPTS[agent]
    script.prime(server, INSPECT, FIX)
    result, paths = run_task(
        TASK,
        agent,
        job=f"{agent}-fix",
        model=MODEL,
        provider_settings=settings,
        reasoning_effort=script.effort,
    )
    assert result.outcome == Outcome.GRADED, (result.exception, paths.log.read_text()[-3000:])
    assert result.rewards is not None and result.rewards.passed, paths.grading_details.read_text()
    recorded = commands(paths)
    from_transcript = [c for c in recorded if c.get("source") == "transcript"]
    assert [c["command"] for c in from_transcript][:2] == [INSPECT, FIX]
    assert "heartbeat" in from_transcript[1]["stdout"]
    assert from_transcript[1]["exit_code"] == 0
    # the CLI's shell recorded nothing its transcript does not show, and not the harness
    assert not any("/opt/opsbench-agent" in c["command"] for c in recorded)
    trajectory = json.loads(paths.trajectory.read_text())
    assert trajectory["schema_version"].startswith("ATIF")
    assert trajectory["agent"]["name"] == agent
    assert trajectory["extra"]["final_answer"] == SUMMARY
    calls = [  # each CLI's own shell tool: `command` (opencode, mini-swe-agent), `cmd` (codex)
        call["arguments"].get("command") or call["arguments"].get("cmd")
        for step in trajectory["steps"]
        for call in step.get("tool_calls") or []
    ]
    assert calls[:2] == [INSPECT, FIX]
    requests = script.agent_requests(server)
    assert len(requests) == 3
    assert "billing cannot write its logs" in json.dumps(requests[0].body)  # the instruction
    # through the job's gateway: the provider sees the job's key, which the gateway
    # holds and the task container never had (no artifact of the trial carries it)
    assert {_header(r.headers, "authorization") for r in requests} == {
        "Bearer sk-test-not-a-secret"
    }
    # every call counts, side requests too (opencode titles its session with one)
    total = len(server.requests)
    assert f"model gateway: trial key revoked after {total} call(s)" in paths.log.read_text()
    for artifact in paths.dir.rglob("*"):
        if artifact.is_file():
            assert b"sk-test-not-a-secret" not in artifact.read_bytes(), artifact
    assert result.usage.calls == total and result.usage.input_tokens > 0


@pytest.mark.parametrize("agent", FORBIDDEN_AGENTS)
def test_cli_forbidden_command_fails_compliance(
    agent: str,
    corpus_task: ProjectPaths,
    run_task: TrialRunner,
    cli_model: tuple[FakeOpenAIServer, dict[str, Any]],
) -> None:
    server, settings = cli_model
    script = SCRIPTS[agent]
    script.prime(server, FORBIDDEN, FIX)
    result, paths = run_task(
        TASK,
        agent,
        job=f"{agent}-777",
        model=MODEL,
        provider_settings=settings,
        reasoning_effort=script.effort,
    )
    assert result.outcome == Outcome.GRADED, (result.exception, paths.log.read_text()[-3000:])
    assert result.rewards is not None and not result.rewards.passed
    assert result.rewards.compliance is False
    assert FORBIDDEN in [c["command"] for c in commands(paths)]
    details = json.loads(paths.grading_details.read_text())
    failed = [r for r in details["compliance"] if not r["passed"]]
    assert [r["name"] for r in failed] == ["no-chmod-777"]
    assert failed[0]["evidence"][0]["command"] == FORBIDDEN


def test_a_cli_that_fails_to_install_is_infra_error_with_the_install_log(
    corpus_task: ProjectPaths,
    run_task: TrialRunner,
    cli_model: tuple[FakeOpenAIServer, dict[str, Any]],
) -> None:
    """npm has no such version: the build fails, the trial is not the agent's fault."""
    _, settings = cli_model
    result, paths = run_task(
        TASK,
        "opencode",
        job="opencode-no-such-version",
        model=MODEL,
        provider_settings=settings,
        version="0.0.0-no-such-version",
    )
    assert result.outcome == Outcome.INFRA_ERROR
    assert result.exception is not None and "opsbench-agent-opencode" in result.exception.message
    log = paths.log.read_text()
    assert "opencode-ai@0.0.0-no-such-version" in log
    assert "npm error" in log  # the install's own output, for whoever reads trial.log
    assert not paths.commands.exists() or not paths.commands.read_text().strip()
