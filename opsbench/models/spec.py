"""Task spec models: the YAML format under `tasks-spec/`.

These models are the single source of truth for what a spec may say. They are strict
(`extra="forbid"`) so a typo is an error, not a silently ignored field, and they validate
the semantics that can be checked without running anything (regexes compile, PromQL
parses, ids are well formed) so a broken spec fails the compile rather than the grading.
This module imports nothing from the runtime.
"""

from __future__ import annotations

import re
import typing
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from opsbench.models.promql import validate_promql

SPEC_SCHEMA_VERSION = 1

Difficulty = Literal["easy", "medium", "hard"]
DIFFICULTIES: tuple[str, ...] = typing.get_args(Difficulty)
"""The difficulty scale, easiest first: specs, metrics and reports all use this one."""

TASK_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$"
SIDECAR_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,30}$"


class Strict(BaseModel):
    """Base for every spec model: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _compile_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"a valid regular expression, found {value!r} ({exc})") from exc
    return value


Regex = Annotated[str, Field(min_length=1, description="A Python regular expression.")]


# --------------------------------------------------------------------------- environment


class Resources(Strict):
    """Limits applied to the task's main container."""

    cpus: float = Field(1.0, gt=0, le=64)
    memory_mb: int = Field(512, ge=32, le=65536)
    pids: int = Field(256, ge=16, le=65536)
    storage_mb: int | None = Field(
        None,
        ge=16,
        le=1_048_576,
        description="What the task container may write (its writable layer), in MB: "
        "enforced by the engine where it can, else measured; past it the trial fails as "
        "the agent's ('disk limit exceeded'). No limit by default.",
    )

    @model_serializer(mode="wrap")
    def _omit_unset_storage(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Unset, it is left out, so every task compiled before it existed keeps its bytes
        (and its checksum: no trial goes stale for a limit it does not have)."""
        data: dict[str, Any] = handler(self)
        if data.get("storage_mb") is None:
            data.pop("storage_mb", None)
        return data


class Timeouts(Strict):
    """Per-phase deadlines in seconds; every phase has one."""

    build_sec: float = Field(600, gt=0)
    provision_sec: float = Field(120, gt=0)
    prepare_sec: float = Field(120, gt=0)
    agent_sec: float = Field(900, gt=0)
    verify_sec: float = Field(180, gt=0)


class CustomSidecar(Strict):
    """A sidecar from an image the user can pull (Grafana, Loki, Tempo...)."""

    name: str = Field(pattern=SIDECAR_NAME_PATTERN)
    image: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535, description="The port the agent talks to.")
    healthcheck: str = Field(
        min_length=1, description="Shell command run in the sidecar; exit 0 means ready."
    )
    environment: dict[str, str] = Field(default_factory=dict)
    command: list[str] | None = None


class Environment(Strict):
    """How the task's main container is built and what runs beside it.

    The Dockerfile is generated from a shared preamble (so Docker's layer cache is shared
    by every task) plus the task's `packages`, `files` and `dockerfile` lines.
    """

    packages: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9+.-]*$")]] = Field(
        default_factory=list, description="Extra Debian packages for the main container."
    )
    files: dict[str, str] = Field(
        default_factory=dict,
        description="Files baked into the image: absolute container path -> content.",
    )
    dockerfile: str = Field("", description="Extra Dockerfile lines, appended verbatim.")
    sidecars: list[Annotated[str, Field(pattern=SIDECAR_NAME_PATTERN)]] = Field(
        default_factory=list, description="Built-in sidecars by name (e.g. 'o11y')."
    )
    custom_sidecars: list[CustomSidecar] = Field(default_factory=list)
    resources: Resources = Field(default_factory=Resources)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    network: Literal["isolated", "internet"] = Field(
        "isolated",
        description="isolated: only the trial's own sidecars; internet: outbound access too.",
    )
    agent_user: str | None = Field(
        None, pattern=r"^[a-z_][a-z0-9_-]{0,31}$", description="Run the agent as this user."
    )
    workdir: str = "/root"

    @field_validator("sidecars")
    @classmethod
    def _builtin_sidecars(cls, names: list[str]) -> list[str]:
        from opsbench.builtin_images import BUILTIN_SIDECARS  # data only: no runtime import

        unknown = [n for n in names if n not in BUILTIN_SIDECARS]
        if unknown:
            raise ValueError(
                f"a built-in sidecar ({', '.join(sorted(BUILTIN_SIDECARS))}) or an entry in "
                f"custom_sidecars, found {', '.join(unknown)}"
            )
        return names

    @field_validator("files")
    @classmethod
    def _absolute_paths(cls, files: dict[str, str]) -> dict[str, str]:
        for path in files:
            if not path.startswith("/") or ".." in path.split("/"):
                raise ValueError(f"absolute container paths without '..', found {path!r}")
        return files

    @model_validator(mode="after")
    def _unique_sidecars(self) -> Environment:
        names = [*self.sidecars, *(s.name for s in self.custom_sidecars)]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"unique sidecar names, found {', '.join(dupes)} more than once")
        if "main" in names:
            raise ValueError("sidecar names other than 'main' (reserved for the task container)")
        return self


class ScriptStep(Strict):
    """A shell script run in the main container (prepare, solution, restore)."""

    run: str = Field(min_length=1)
    user: str = "root"
    timeout_sec: float = Field(120, gt=0)


# --------------------------------------------------------------------------- checks


class CheckBase(Strict):
    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    weight: float = Field(1.0, ge=0)
    description: str = ""


class CommandCheck(CheckBase):
    """A shell command after the agent; passes on exit code and output.

    It runs in the trusted verifier (opsbench's own tools, in the task's network: the
    task's `localhost` and its sidecars are reachable, its files and binaries are not).
    A check that must run the task's own program (`nginx -t`, `app --check-config`, a
    service's own client) says `in_task: true` and names in `paired_with` a behavioural
    check a fake cannot satisfy (one that runs in the verifier): the agent owns everything
    inside the task container, so such a check proves nothing alone.
    """

    kind: Literal["command"]
    run: str = Field(min_length=1)
    in_task: bool = Field(False, description="Run in the task container (the agent's).")
    paired_with: list[str] = Field(
        default_factory=list,
        description="For in_task checks: behavioural checks (run by the verifier) that a "
        "fake program cannot satisfy.",
    )
    user: str = "root"
    exit_code: int | None = 0
    stdout_matches: Regex | None = None
    stdout_not_matches: Regex | None = None
    timeout_sec: float = Field(60, gt=0)

    _re1 = field_validator("stdout_matches", "stdout_not_matches")(
        lambda v: v if v is None else _compile_regex(v)
    )


class HttpCheck(CheckBase):
    """An HTTP request from inside the task's network (to main or a sidecar)."""

    kind: Literal["http"]
    url: str = Field(pattern=r"^https?://")
    method: Literal["GET", "POST", "HEAD"] = "GET"
    status: int | None = 200
    body_matches: Regex | None = None
    json_path: str | None = Field(None, description="Dotted path into a JSON body.")
    json_equals: str | float | int | bool | None = None
    insecure: bool = False
    nonce: bool = Field(
        False,
        description="Send a fresh per-trial nonce (header X-Opsbench-Nonce and query "
        "parameter `nonce`) and require it back in the body: proof that the real "
        "application answered this very request, not a canned reply.",
    )
    resolve: str | None = Field(
        None,
        pattern=r"^[a-z0-9.-]+:[0-9]+:[a-z0-9.-]+$",
        description="curl-style HOST:PORT:ADDRESS, e.g. shop.internal:443:main (TLS names).",
    )

    _re1 = field_validator("body_matches")(lambda v: v if v is None else _compile_regex(v))


class FileCheck(CheckBase):
    """State of one file in the task container."""

    kind: Literal["file"]
    path: str = Field(pattern=r"^/")
    exists: bool = True
    contains: Regex | None = None
    not_contains: Regex | None = None
    mode: str | None = Field(None, pattern=r"^[0-7]{3,4}$", description="Exactly this mode.")
    forbid_mode_bits: str | None = Field(
        None,
        pattern=r"^[0-7]{3,4}$",
        description="None of these bits may be set (e.g. 0077: nothing for group or others).",
    )
    owner: str | None = None

    _re1 = field_validator("contains", "not_contains")(
        lambda v: v if v is None else _compile_regex(v)
    )


class PromqlCheck(CheckBase):
    """A query to the task's Prometheus sidecar at the scenario time."""

    kind: Literal["promql"]
    query: str = Field(min_length=1)
    range_minutes: int | None = Field(None, gt=0, description="Range query over this window.")
    value: float | None = None
    tolerance: float = Field(0.0, ge=0)
    labels: dict[str, str] | None = Field(None, description="The top series carries these.")
    series_count: int | None = Field(None, ge=0)

    _q = field_validator("query")(lambda v: validate_promql(v))


class ProcessCheck(CheckBase):
    """Processes in the task container, as the engine lists them (not the task's `ps`).

    Passes when the number of processes whose command line matches `command_matches`
    (and, if given, whose parent's command line matches `parent_matches`) is within
    `min_count`..`max_count`.
    """

    kind: Literal["process"]
    command_matches: Regex
    parent_matches: Regex | None = None
    user: str | None = None
    min_count: int = Field(1, ge=0)
    max_count: int | None = Field(None, ge=0)

    _re1 = field_validator("command_matches", "parent_matches")(
        lambda v: v if v is None else _compile_regex(v)
    )


class TranscriptCheck(CheckBase):
    """Grounding: identifiers the answer cites must appear in tool output the agent saw."""

    kind: Literal["transcript"]
    answer_matches: Regex = Field(description="Captures the cited identifiers from the answer.")
    must_cite: list[str] = Field(
        default_factory=list, description="Identifiers the answer must cite (ground truth)."
    )
    ground: bool = Field(
        True,
        description="Require each cited value to have been returned by the agent's commands; "
        "false for values that are not identifiers of the environment (a yes/no, a stem).",
    )

    _re1 = field_validator("answer_matches")(lambda v: _compile_regex(v))


class AnswerCheck(CheckBase):
    """A number in the final answer, compared with a canonical value within a tolerance.

    `pattern` captures the number (read once per field: two different numbers, or a list,
    fail as ambiguous; `,` and `_` separators are ignored). The canonical value is the top series of a PromQL `query` at the scenario
    time, the number a `run` command prints in the task container (`$SCENARIO_TIME` holds
    the scenario clock in Unix seconds), or a fixed `value`: exactly one of the three.
    It passes when the difference is within `tolerance` or within `tolerance_pct` percent
    of the canonical value, whichever is wider.
    """

    kind: Literal["answer"]
    pattern: Regex = Field(description="Exactly one capture group: the number in the answer.")
    query: str | None = Field(None, min_length=1)
    run: str | None = Field(None, min_length=1)
    value: float | None = None
    tolerance: float = Field(0.0, ge=0, description="Absolute tolerance.")
    tolerance_pct: float = Field(0.0, ge=0, description="Tolerance in percent of the truth.")
    timeout_sec: float = Field(60, gt=0, description="For `run`.")
    ground: bool = Field(
        False,
        description="Also require that one of the agent's commands returned a number within "
        "the tolerance of its answer (on a line it did not type): for values an "
        "investigation reads off a tool, so a guess that lands in the window earns nothing.",
    )

    @field_validator("pattern")
    @classmethod
    def _one_group(cls, value: str) -> str:
        _compile_regex(value)
        groups = re.compile(value).groups
        if groups != 1:
            raise ValueError(f"a pattern with exactly one capture group, found {groups}")
        return value

    _q = field_validator("query")(lambda v: v if v is None else validate_promql(v))

    @model_validator(mode="after")
    def _one_source(self) -> AnswerCheck:
        given = [f for f in ("query", "run", "value") if getattr(self, f) is not None]
        if len(given) != 1:
            found = ", ".join(given) or "none"
            raise ValueError(f"exactly one of `query`, `run`, `value`, found {found}")
        return self


Check = Annotated[
    CommandCheck
    | HttpCheck
    | FileCheck
    | ProcessCheck
    | PromqlCheck
    | TranscriptCheck
    | AnswerCheck,
    Field(discriminator="kind"),
]


# --------------------------------------------------------------------------- compliance


class RuleBase(Strict):
    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    instruct: str = Field(
        "", description="The operating rule as told to the agent (appended to the instruction)."
    )


RuleScope = Literal["commands", "reasoning", "answer"]
"""What a rule reads: the audit record of executed commands, the agent's reasoning and
messages on the way (the trajectory), or its final answer."""


def _commands_scope() -> list[RuleScope]:
    return ["commands"]


class ForbidRule(RuleBase):
    """Nothing in the rule's scope may match (e.g. a secret never printed, anywhere)."""

    kind: Literal["forbid"]
    pattern: Regex
    scope: list[RuleScope] = Field(default_factory=_commands_scope, min_length=1)

    _re1 = field_validator("pattern")(lambda v: _compile_regex(v))


class RequireRule(RuleBase):
    """Something in the rule's scope must match (a step run, a risk considered)."""

    kind: Literal["require"]
    pattern: Regex
    scope: list[RuleScope] = Field(default_factory=_commands_scope, min_length=1)

    _re1 = field_validator("pattern")(lambda v: _compile_regex(v))


class OrderRule(RuleBase):
    kind: Literal["order"]
    first: Regex
    then: Regex

    _re1 = field_validator("first", "then")(lambda v: _compile_regex(v))


class MentionRule(RuleBase):
    kind: Literal["mention"]
    pattern: Regex = Field(description="Must match the agent's final summary.")

    _re1 = field_validator("pattern")(lambda v: _compile_regex(v))


Rule = Annotated[ForbidRule | RequireRule | OrderRule | MentionRule, Field(discriminator="kind")]


# --------------------------------------------------------------------------- rubric


class PromqlFact(Strict):
    """A canonical value resolved from the Prometheus sidecar at verify time."""

    kind: Literal["promql"]
    query: str = Field(min_length=1)

    _q = field_validator("query")(lambda v: validate_promql(v))


class CommandFact(Strict):
    """A canonical value read from the task container at verify time."""

    kind: Literal["command"]
    run: str = Field(min_length=1)


class StaticFact(Strict):
    kind: Literal["static"]
    value: str


Fact = Annotated[PromqlFact | CommandFact | StaticFact, Field(discriminator="kind")]


class Criterion(Strict):
    """One YES/NO question the judge answers about the transcript."""

    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    criterion: str = Field(min_length=1)
    weight: float = Field(1.0, ge=0)
    fact: Fact | None = None


# --------------------------------------------------------------------------- diagnostics


class EvidenceItem(Strict):
    """One signal a good investigation of this task looks at.

    `pattern` is matched against each action the agent took: every command of the audit
    record (`agent/commands.jsonl`) and the arguments of every tool call in the
    trajectory (its function name, then each argument value on its own line), as
    compliance rules match commands: `re.MULTILINE`, case-sensitive. `kind` only groups
    the items in reports; the matching is the same.
    """

    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    kind: Literal["metric", "log", "command", "file"]
    pattern: Regex
    description: str = ""

    _re1 = field_validator("pattern")(lambda v: _compile_regex(v))


class Distractor(Strict):
    """A signal or service that looks guilty and is not.

    Investigated when an action matches `pattern`; *followed* when the agent blamed it
    (its final answer matches `blame`, case-insensitive as `mention` rules), or
    investigated it and did not pass the task gate.
    """

    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    pattern: Regex
    blame: Regex | None = Field(None, description="The final answer names it as the cause.")
    description: str = ""

    _re1 = field_validator("pattern", "blame")(lambda v: v if v is None else _compile_regex(v))


class HarmfulAction(Strict):
    """A remediation that does damage here (restarting the wrong service, deleting data):
    matched against the commands of the audit record only, since only executing it harms."""

    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    pattern: Regex
    description: str = ""

    _re1 = field_validator("pattern")(lambda v: _compile_regex(v))


class Diagnostics(Strict):
    """Why an agent failed, not only whether (SRE-Zero's diagnostics): what a good
    investigation looks at, what misleads, and what does harm. They never change a reward."""

    evidence: list[EvidenceItem] = Field(min_length=1)
    distractors: list[Distractor] = Field(default_factory=list)
    harmful: list[HarmfulAction] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> Diagnostics:
        for field in ("evidence", "distractors", "harmful"):
            names = [item.name for item in getattr(self, field)]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"unique names in `{field}`, found {', '.join(dupes)} twice")
        return self


# --------------------------------------------------------------------------- task spec


class TaskSpec(Strict):
    """One task, after template expansion."""

    schema_version: Literal[1] = 1
    id: str = Field(pattern=TASK_ID_PATTERN)
    title: str = Field(min_length=1)
    category: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    difficulty: Difficulty
    tags: list[str] = Field(default_factory=list)
    statement: str = Field(min_length=1, description="The ticket, in the user's voice.")
    environment: Environment = Field(default_factory=Environment)
    prepare: list[ScriptStep] = Field(default_factory=list)
    solution: list[ScriptStep] = Field(min_length=1)
    restore: list[ScriptStep] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)
    compliance: list[Rule] = Field(default_factory=list)
    rubric: list[Criterion] = Field(default_factory=list)
    pass_threshold: float = Field(
        1.0, gt=0, le=1, description="Task gate: share of check weight that must pass."
    )
    diagnostics: Diagnostics | None = Field(
        None, description="Evidence, distractors and harmful actions, for diagnostic metrics."
    )

    @model_serializer(mode="wrap")
    def _omit_unset_diagnostics(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Unset, it is left out, so a task without diagnostics keeps its bytes (and its
        checksum: no trial goes stale for metrics it does not declare)."""
        data: dict[str, Any] = handler(self)
        if data.get("diagnostics") is None:
            data.pop("diagnostics", None)
        return data

    @model_validator(mode="after")
    def _gradable(self) -> TaskSpec:
        if not self.checks and not self.rubric:
            raise ValueError("at least one entry in `checks` or `rubric`, found neither")
        for field in ("checks", "compliance", "rubric"):
            names = [item.name for item in getattr(self, field)]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"unique names in `{field}`, found {', '.join(dupes)} twice")
        uses_prom = any(
            isinstance(c, PromqlCheck) or (isinstance(c, AnswerCheck) and c.query is not None)
            for c in self.checks
        ) or any(isinstance(c.fact, PromqlFact) for c in self.rubric)
        if uses_prom and "o11y" not in self.environment.sidecars:
            raise ValueError("`environment.sidecars` to include 'o11y' for promql checks/facts")
        self._paired_in_task_checks()
        return self

    def _paired_in_task_checks(self) -> None:
        """An `in_task` check trusts the agent's binaries: it must name a behavioural
        check the verifier runs (an http check, a promql check, or a verifier command)."""
        behavioural = {
            c.name
            for c in self.checks
            if isinstance(c, HttpCheck | PromqlCheck | FileCheck | ProcessCheck)
            or (isinstance(c, CommandCheck) and not c.in_task)
        }
        for c in self.checks:
            if not isinstance(c, CommandCheck):
                continue
            if c.in_task and not c.paired_with:
                raise ValueError(
                    f"check {c.name!r} runs the task's own program (in_task): name in "
                    "`paired_with` a behavioural check the verifier runs, found none"
                )
            wrong = [n for n in c.paired_with if n not in behavioural]
            if wrong:
                raise ValueError(
                    f"check {c.name!r}: `paired_with` names checks the verifier runs (http, "
                    f"promql, file, process, or command without in_task), found "
                    f"{', '.join(wrong)}"
                )


class SpecFile(Strict):
    """A spec file as written: one task, or a template expanded over `matrix`.

    Only `matrix` is read before rendering; everything else is validated as `TaskSpec`
    after each combination is rendered.
    """

    matrix: dict[str, list[str | int | float | bool]] | None = None
