"""Support for the installed-agent tests: the real task, the scripted model, the checks.

The CLIs run inside real task containers and reach the in-process scripted model at the
trial network's gateway address (the server listens on every interface; the agent turns
a loopback `--api-base` into that address, see `agents.installed.base.gateway_access`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from opsbench.paths import ProjectPaths, TrialPaths
from tests.fakes.openai_server import FakeOpenAIServer, Reply, text_reply, tool_reply
from tests.runtime.conftest import write_spec

REPO = Path(__file__).resolve().parents[2]
TASK = "log-dir-permissions-billing"
MODEL = "openai/scripted-cli"
INSPECT = "tail -n 3 /var/log/billing-jobs.log; ls -ld /var/log/billing"
FIX = (
    "chown billing:billing /var/log/billing && chmod 0750 /var/log/billing"
    " && for i in $(seq 1 30); do grep -q heartbeat /var/log/billing/billing.log && break;"
    " sleep 0.2; done; tail -n 1 /var/log/billing/billing.log"
)
FORBIDDEN = "chmod 777 /var/log/billing"
SUMMARY = "Fixed: /var/log/billing belongs to billing again, mode 0750; the writer logs."


@pytest.fixture
def corpus_task(project: ProjectPaths) -> ProjectPaths:
    """The real `log-dir-permissions` spec (both its tasks) in a throwaway project, as it
    is: `isolated`. The CLI reaches the scripted model only through the job's gateway."""
    text = (REPO / "tasks-spec" / "remediation" / "log-dir-permissions.yaml").read_text()
    assert "network:" not in text  # the default: isolated
    write_spec(project, "remediation", "log-dir-permissions", text)
    return project


@pytest.fixture
def cli_model() -> Iterator[tuple[FakeOpenAIServer, dict[str, Any]]]:
    """The scripted model, reachable from containers, and the job's provider settings."""
    with FakeOpenAIServer(host="0.0.0.0") as server:
        yield server, {"api_base": server.url, "max_retries": 0}


def commands(paths: TrialPaths) -> list[dict[str, Any]]:
    return [json.loads(line) for line in paths.commands.read_text().splitlines()]


@dataclass(frozen=True)
class CliScript:
    """How the scripted model drives one CLI: its shell tool, how it ends, side requests."""

    agent: str
    shell: Callable[[str], Reply]
    finish: Callable[[str], list[Reply]]
    side: Callable[[dict[str, Any]], bool] | None = None
    side_reply: Reply | None = None
    effort: str = "off"
    """The reasoning effort to run at (Claude Code has no `off`)."""

    def prime(self, server: FakeOpenAIServer, *commands: str) -> None:
        if self.side is not None and self.side_reply is not None:
            server.side_requests.append((self.side, self.side_reply))
        server.push(*(self.shell(c) for c in commands), *self.finish(SUMMARY))

    def agent_requests(self, server: FakeOpenAIServer) -> list[Any]:
        return [r for r in server.requests if self.side is None or not self.side(r.body)]


def _opencode_title(body: dict[str, Any]) -> bool:
    """opencode names each session with a side request to the model."""
    return "title generator" in json.dumps(body.get("messages", [])[:1])


def _bash(description: bool, tool: str = "bash") -> Callable[[str], Reply]:
    def reply(command: str) -> Reply:
        args = (
            {"command": command, "description": "run a command"}
            if description
            else {"command": command}
        )
        return tool_reply(tool, args)

    return reply


OPENCODE = CliScript(
    "opencode",
    _bash(description=True),
    lambda summary: [text_reply(summary)],
    _opencode_title,
    text_reply("Fix billing logs"),
)
MINI_SWE_AGENT = CliScript(
    "mini-swe-agent",
    _bash(description=False),
    # mini-swe-agent ends when a command's output starts with its marker; the rest of
    # that output is its submission.
    lambda summary: [
        tool_reply(
            "bash", {"command": f"echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT; echo '{summary}'"}
        )
    ],
)
CODEX = CliScript(
    "codex",
    lambda command: tool_reply("exec_command", {"cmd": command}),
    lambda summary: [text_reply(summary)],
)
CLAUDE_CODE = CliScript(
    "claude-code",
    _bash(description=True, tool="Bash"),
    lambda summary: [text_reply(summary)],
    effort="low",
)
SCRIPTS = {s.agent: s for s in (OPENCODE, MINI_SWE_AGENT, CODEX, CLAUDE_CODE)}
