"""An in-memory `Sandbox` for fast agent tests: canned command outputs and HTTP bodies.

`exec` answers from `commands` (exact command -> output, or a callable), and answers
`curl … URL` (what `Sandbox.fetch` runs) from `http` (URL prefix -> body, longest prefix
wins). Everything else exits 127. Every call is recorded in `execs`; `fail_on` makes the
n-th exec raise (a crash mid-run).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from opsbench.sandbox import Endpoint, ExecOutput, Sandbox

Answer = ExecOutput | str | Callable[[str], ExecOutput]


@dataclass(frozen=True)
class ExecCall:
    command: str
    timeout: float
    user: str | None


@dataclass
class FakeSandbox(Sandbox):
    commands: dict[str, Answer] = field(default_factory=dict)
    http: dict[str, str] = field(default_factory=dict)
    endpoint_map: dict[str, Endpoint] = field(
        default_factory=lambda: {"o11y": Endpoint("o11y", "o11y", 9090)}
    )
    fail_on: int | None = None
    """1-based index of the exec that raises `failure`."""
    failure: BaseException = field(default_factory=lambda: RuntimeError("sandbox exploded"))
    execs: list[ExecCall] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)

    def exec(
        self,
        command: str,
        *,
        timeout: float = 60,
        user: str | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
    ) -> ExecOutput:
        self.execs.append(ExecCall(command, timeout, user))
        if self.fail_on is not None and len(self.execs) == self.fail_on:
            raise self.failure
        if command.startswith("curl "):
            return self._curl(command)
        answer = self.commands.get(command)
        if answer is None:
            name = command.split()[0] if command.split() else command
            return ExecOutput(127, "", f"bash: {name}: command not found", 0.01)
        if isinstance(answer, str):
            return ExecOutput(0, answer, "", 0.01)
        if isinstance(answer, ExecOutput):
            return answer
        return answer(command)

    def _curl(self, command: str) -> ExecOutput:
        url = shlex.split(command)[-1]
        matches = [prefix for prefix in self.http if url.startswith(prefix)]
        if not matches:
            return ExecOutput(7, "", f"curl: (7) Failed to connect to {url}", 0.01)
        return ExecOutput(0, self.http[max(matches, key=len)], "", 0.01)

    def fetched_urls(self) -> list[str]:
        return [shlex.split(c.command)[-1] for c in self.execs if c.command.startswith("curl ")]

    def upload(self, local: Path, remote: str) -> None:
        self.files[remote] = local.read_bytes()

    def download(self, remote: str, local: Path) -> None:
        local.write_bytes(self.files[remote])

    @property
    def endpoints(self) -> dict[str, Endpoint]:
        return dict(self.endpoint_map)
