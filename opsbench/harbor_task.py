"""Harbor-format tasks (Terminal-Bench and others) as opsbench trials.

A Harbor task is a directory with `task.toml`, `instruction.md`, `environment/`
(Dockerfile), `tests/test.sh` (which writes `/logs/verifier/reward.txt` or
`reward.json`) and optionally `solution/solve.sh`; a dataset is a directory of them.
`opsbench job --path DIR` runs either through the same trial template, artifacts,
resume and reports as our own tasks. What differs is read from `task.toml` here:
timeouts, resources, the network, and the verifier's mode — `shared` (tests uploaded
into the task container after the agent) or `separate` (a container built from
`tests/Dockerfile`, given the task's declared artifacts). The task's own verifier
grades and its reward is the trial's; the compliance gate is not applicable (recorded
as None, never as a pass), since a Harbor task declares no rules.

The trial template needs a `TaskSpec`; a Harbor task gets a synthetic one
(`synthetic_spec`) whose single check names the task's verifier. Run on a machine
without a registry, `FROM` lines the engine cannot pull are rewritten through an image
map into a per-job copy of the task (`materialize`).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opsbench.errors import OpsbenchError
from opsbench.models.spec import TaskSpec
from opsbench.paths import TaskPaths

HARBOR_MARKER = "harbor.json"
"""Written into a materialized copy: the parsed task, for the trial to read back."""


class HarborTaskError(OpsbenchError):
    pass


class _Loose(BaseModel):
    """Harbor's sections hold many fields opsbench does not use: those are ignored, the
    ones it uses are type-checked."""

    model_config = ConfigDict(extra="ignore")


class _VerifierSection(_Loose):
    timeout_sec: float = Field(600.0, gt=0)
    environment_mode: Literal["shared", "separate"] | None = None
    environment: dict[str, Any] | None = None
    env: dict[str, str] = Field(default_factory=dict)
    user: str | int | None = None


class _AgentSection(_Loose):
    timeout_sec: float | None = Field(None, gt=0)
    user: str | int | None = None


class _EnvironmentSection(_Loose):
    build_timeout_sec: float = Field(600.0, gt=0)
    cpus: float | None = Field(None, gt=0)
    memory_mb: int | None = Field(None, gt=0)
    network_mode: Literal["public", "no-network", "allowlist"] = "public"
    allow_internet: bool | None = None
    workdir: str | None = None
    env: dict[str, str] = Field(default_factory=dict)


class _TaskSection(_Loose):
    name: str | None = None
    description: str = ""


class _SolutionSection(_Loose):
    env: dict[str, str] = Field(default_factory=dict)


class _TaskToml(_Loose):
    task: _TaskSection = Field(default_factory=_TaskSection)
    metadata: dict[str, Any] = Field(default_factory=dict)
    verifier: _VerifierSection = Field(default_factory=_VerifierSection)
    agent: _AgentSection = Field(default_factory=_AgentSection)
    environment: _EnvironmentSection = Field(default_factory=_EnvironmentSection)
    solution: _SolutionSection = Field(default_factory=_SolutionSection)
    artifacts: list[str | dict[str, Any]] = Field(default_factory=list)


class HarborTask(BaseModel):
    """What opsbench uses of one Harbor task (also `harbor.json` in a materialized copy)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    source: str
    agent_timeout_sec: float
    verifier_timeout_sec: float
    build_timeout_sec: float
    cpus: float
    memory_mb: int
    network: Literal["isolated", "internet"]
    verifier_mode: Literal["shared", "separate"]
    verifier_env: dict[str, str] = Field(default_factory=dict)
    solution_env: dict[str, str] = Field(default_factory=dict)
    artifacts: list[str] = Field(default_factory=list)
    workdir: str | None = None
    difficulty: str = "medium"


def is_harbor_task(path: Path) -> bool:
    """A Harbor task directory that is not one opsbench generated (those carry a spec)."""
    return (path / "task.toml").is_file() and not TaskPaths(path).spec_json.is_file()


def is_harbor_path(path: Path | None) -> bool:
    """`--path` names a Harbor task or a dataset (a directory of them)."""
    if path is None or not path.is_dir():
        return False
    return is_harbor_task(path) or any(is_harbor_task(p) for p in path.iterdir() if p.is_dir())


def task_dirs(path: Path) -> list[Path]:
    if is_harbor_task(path):
        return [path]
    return sorted(p for p in path.iterdir() if p.is_dir() and is_harbor_task(p))


def _task_id(path: Path) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", path.name.lower()).strip("-")
    return slug or "task"


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc)


def load_task(path: Path) -> HarborTask:
    """Parse a Harbor task; a malformed one raises one line naming file and field."""
    toml_path = path / "task.toml"
    try:
        raw = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise HarborTaskError(f"{toml_path}: not valid TOML: {exc}") from None
    try:
        parsed = _TaskToml.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise HarborTaskError(f"{toml_path}: {_field_path(first['loc'])}: {first['msg']}") from None
    if not (path / "instruction.md").is_file():
        raise HarborTaskError(f"{path / 'instruction.md'}: missing (the task's instruction)")
    env = parsed.environment
    isolated = env.network_mode == "no-network" or env.allow_internet is False
    mode = parsed.verifier.environment_mode or (
        "separate" if parsed.verifier.environment is not None else "shared"
    )
    artifacts = [a if isinstance(a, str) else str(a.get("source", "")) for a in parsed.artifacts]
    difficulty = str(parsed.metadata.get("difficulty", "medium")).lower()
    return HarborTask(
        id=_task_id(path),
        name=parsed.task.name or path.name,
        source=str(path.resolve()),
        agent_timeout_sec=parsed.agent.timeout_sec or 600.0,
        verifier_timeout_sec=parsed.verifier.timeout_sec,
        build_timeout_sec=env.build_timeout_sec,
        cpus=env.cpus or 1.0,
        memory_mb=env.memory_mb or 2048,
        network="isolated" if isolated else "internet",
        verifier_mode=mode,
        verifier_env=dict(parsed.verifier.env),
        solution_env=dict(parsed.solution.env),
        artifacts=[a for a in artifacts if a],
        workdir=env.workdir,
        difficulty=difficulty if difficulty in ("easy", "medium", "hard") else "medium",
    )


def synthetic_spec(task: HarborTask, instruction: str) -> TaskSpec:
    """The `TaskSpec` the trial template runs a Harbor task under."""
    return TaskSpec.model_validate(
        {
            "id": task.id,
            "title": task.name,
            "category": "harbor",
            "difficulty": task.difficulty,
            "statement": instruction or task.name,
            "environment": {
                "resources": {"cpus": task.cpus, "memory_mb": task.memory_mb},
                "timeouts": {
                    "agent_sec": task.agent_timeout_sec,
                    "verify_sec": task.verifier_timeout_sec,
                    "build_sec": task.build_timeout_sec,
                },
                "network": task.network,
                **({"workdir": task.workdir} if task.workdir else {}),
            },
            "solution": [{"run": "bash /solution/solve.sh"}],
            "checks": [
                {
                    "kind": "command",
                    "name": "harbor-verifier",
                    "run": "bash /tests/test.sh",
                    "description": "the task's own tests/test.sh; its reward is the trial's",
                }
            ],
        }
    )


# ---------------------------------------------------------------------- images


FROM_LINE = re.compile(r"^(\s*FROM\s+(?:--\S+\s+)*)(\S+)(.*)$", re.IGNORECASE | re.MULTILINE)


def base_images(dockerfile: Path) -> list[str]:
    """The images a Dockerfile starts from (stage names excluded)."""
    text = dockerfile.read_text(encoding="utf-8")
    stages: set[str] = set()
    out: list[str] = []
    for match in FROM_LINE.finditer(text):
        image = match.group(2)
        rest = match.group(3).split()
        if image.lower() not in stages and image not in out and image.lower() != "scratch":
            out.append(image)
        if len(rest) >= 2 and rest[0].lower() == "as":
            stages.add(rest[1].lower())
    return out


def map_images(dockerfile: Path, image_map: dict[str, str]) -> str:
    """The Dockerfile's text with mapped `FROM` images replaced."""
    text = dockerfile.read_text(encoding="utf-8")
    return FROM_LINE.sub(
        lambda m: m.group(1) + image_map.get(m.group(2), m.group(2)) + m.group(3), text
    )


def parse_image_map(pairs: list[str], files: list[Path]) -> dict[str, str]:
    """`NAME=IMAGE` pairs over files of such lines (`#` comments); pairs win."""
    out: dict[str, str] = {}
    for path in files:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise OpsbenchError(f"--image-map-file: cannot read {path}: {exc}") from None
        for number, line in enumerate(lines, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, sep, image = line.partition("=")
            if not sep or not name.strip() or not image.strip():
                raise OpsbenchError(f"{path}:{number}: NAME=IMAGE, found {line!r}")
            out[name.strip()] = image.strip()
    for pair in pairs:
        name, sep, image = pair.partition("=")
        if not sep or not name or not image:
            raise OpsbenchError(f"--image-map: NAME=IMAGE, found {pair!r}")
        out[name] = image
    return out


# ---------------------------------------------------------------------- selection


@dataclass
class HarborSelection:
    tasks: dict[str, TaskPaths] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)


def checksum(path: Path, image_map: dict[str, str]) -> str:
    """What a trial of this task ran: every file of the task, and the image map."""
    h = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(item.relative_to(path).as_posix().encode() + b"\0" + item.read_bytes() + b"\0")
    for name, image in sorted(image_map.items()):
        h.update(f"{name}={image}\n".encode())
    return "sha256:" + h.hexdigest()


def select(
    path: Path, names: list[str], image_map: dict[str, str], into: Path | None
) -> HarborSelection:
    """The Harbor tasks under `path` (an unknown `--task-name` lists close matches),
    each materialized under `into` (None: a dry run, which writes nothing)."""
    import difflib

    loaded = {}
    for task_dir in task_dirs(path):
        task = load_task(task_dir)
        if task.id in loaded:
            raise HarborTaskError(f"{task_dir}: two tasks would be named {task.id!r}")
        loaded[task.id] = (task_dir, task)
    if names:
        unknown = [n for n in names if n not in loaded]
        if unknown:
            lines = []
            for n in unknown:
                close = difflib.get_close_matches(n, loaded, n=3, cutoff=0.5)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                lines.append(f"--task-name: unknown task {n!r}{hint}")
            raise OpsbenchError("\n".join(lines))
        loaded = {n: loaded[n] for n in names}
    out = HarborSelection()
    for task_id, (task_dir, task) in loaded.items():
        out.checksums[task_id] = checksum(task_dir, image_map)
        if into is None:
            out.tasks[task_id] = TaskPaths(task_dir)
        else:
            out.tasks[task_id] = materialize(task_dir, task, image_map, into / task_id)
    return out


def materialize(source: Path, task: HarborTask, image_map: dict[str, str], dest: Path) -> TaskPaths:
    """A copy of the task for this job: mapped `FROM`s, and `harbor.json`."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(source, dest, symlinks=True)
    for dockerfile in (dest / "environment" / "Dockerfile", dest / "tests" / "Dockerfile"):
        if dockerfile.is_file() and image_map:
            dockerfile.write_text(map_images(dockerfile, image_map), encoding="utf-8")
    (dest / HARBOR_MARKER).write_text(task.model_dump_json(indent=2), encoding="utf-8")
    return TaskPaths(dest)


def read_materialized(task: TaskPaths) -> HarborTask | None:
    """The Harbor task a trial runs, or None for one of our own tasks."""
    marker = task.dir / HARBOR_MARKER
    if not marker.is_file():
        return None
    return HarborTask.model_validate_json(marker.read_text(encoding="utf-8"))
