"""Compile task specs into Harbor-format task directories, in memory.

The compile is all-or-nothing: every spec is loaded and rendered before anything is
written (`opsbench.sync` writes), and nothing is written if any spec is invalid. Output is
deterministic: sorted keys, fixed timestamps, the same bytes every time.

Each task's checksum covers every byte that defines it: the rendered files (which depend on
the spec, its snippets and the generator templates), the grader version and the shared
build contexts under `environment/`. A changed checksum marks earlier trials stale.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grading
from opsbench import __version__
from opsbench.builtin_images import BUILTIN_SIDECARS, TASK_BASE
from opsbench.errors import SpecError, SpecIssue
from opsbench.paths import ProjectPaths, TaskPaths
from opsbench.run_notes import (
    ANSWER_FILE,
    HARBOR_ORACLE_LOG,
    HARBOR_SCENARIO_TIME,
    HARBOR_SEED,
    notes,
)

if TYPE_CHECKING:
    import jinja2

    from opsbench.models.spec import TaskSpec
    from opsbench.specload import LoadedSpec

# jinja2, yaml, tomli_w and the spec models (pydantic) are imported where they are used:
# a no-op sync answers from its record (`opsbench.sync_record`) without loading any of them.

MANAGED_MARKER = "opsbench"
"""`[metadata].generator` in task.toml: only dirs carrying it are ever removed."""

HARBOR_SCHEMA_VERSION = "1.4"
GRADING_FILES = ("__init__.py", "checks.py", "scoring.py", "incontainer.py")
"""The grading modules copied into each task for Harbor's in-container verifier."""
GRADING_MODELS = (
    "__init__.py",
    "builtin_images.py",
    "models/__init__.py",
    "models/promql.py",
    "models/spec.py",
    "models/verdict.py",
)
"""The opsbench modules the in-container grader imports (the models, and the sidecar names
the spec validates against), shipped in the zip under their own package name."""

O11Y_BUNDLE = "environment/o11y/opsbench_o11y.zip"
"""The o11y generator a sidecar task carries, mounted into the sidecar under Harbor."""
O11Y_MOUNT = "/opt/o11y/task"
O11Y_LOGS_VOLUME = "o11y-logs"
"""The sidecar writes its logs there; the task container mounts them at /var/log/apps."""


@dataclass(frozen=True)
class CompiledTask:
    task_id: str
    checksum: str
    files: dict[str, bytes]
    """Relative path -> content, task.toml included."""


@cache
def _generator_env() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("opsbench", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # Dockerfiles and shell: values are quoted with `shquote`
    )
    env.filters["shquote"] = shlex.quote
    return env


def _render(template: str, **context: Any) -> bytes:
    return _generator_env().get_template(template).render(**context).encode()


def grading_dir() -> Path:
    return Path(grading.__file__).parent


def _opsbench_dir() -> Path:
    return Path(__file__).parent


GRADING_BUNDLE = "tests/opsbench_grading.zip"


def _zip(members: list[tuple[str, Path]]) -> bytes:
    """A zip Python imports from (`PYTHONPATH=...zip`), byte-identical across compiles.

    One file instead of a package directory: a compile writes thousands of tasks, and on
    most disks each file and directory created costs more than rendering it. Fixed
    timestamps and order keep it byte-identical across compiles.
    """
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, source in sorted(members):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, source.read_bytes())
    return buf.getvalue()


@cache
def _grading_copy() -> dict[str, bytes]:
    """The grader every task carries (`tests/opsbench_grading.zip`)."""
    members = [(f"opsbench_grading/{n}", grading_dir() / n) for n in GRADING_FILES]
    members += [(f"opsbench/{n}", _opsbench_dir() / n) for n in GRADING_MODELS]
    return {GRADING_BUNDLE: _zip(members)}


@cache
def _o11y_copy() -> dict[str, bytes]:
    """The o11y generator a sidecar task carries, for Harbor (`opsbench.o11y.materialize`):
    the whole package, standard library only, and the image names it reads."""
    here = _opsbench_dir()
    members = [(f"opsbench/{n}", here / n) for n in ("__init__.py", "builtin_images.py")]
    members += [(f"opsbench/o11y/{p.name}", p) for p in sorted((here / "o11y").glob("*.py"))]
    return {O11Y_BUNDLE: _zip(members)}


_NOT_TASK_CONTEXTS = frozenset({"gateway"})
"""Build contexts under environment/ that no task image is built from."""


@cache
def _shared_context_digest(environment_dir: Path) -> str:
    """Digest of shared build contexts (base image, sidecars): they shape every task.
    The model gateway's context does not (it runs beside trials, never in a task's
    image), so editing it leaves every task's checksum alone."""
    h = hashlib.sha256()
    if environment_dir.is_dir():
        files = (p for p in environment_dir.rglob("*") if p.is_file())
        for path in sorted(
            p for p in files if p.relative_to(environment_dir).parts[0] not in _NOT_TASK_CONTEXTS
        ):
            h.update(str(path.relative_to(environment_dir)).encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def compile_task(item: LoadedSpec, environment_dir: Path, source_name: str) -> CompiledTask:
    """Render one task's files in memory."""
    spec = item.spec
    files: dict[str, bytes] = {}
    rules = [r.instruct for r in spec.compliance if r.instruct]
    files["instruction.md"] = (
        _render("instruction.md.j2", title=spec.title, statement=spec.statement, rules=rules)
        + notes(spec, HARBOR_SCENARIO_TIME, harbor=True).encode()
    )
    env = spec.environment
    files["environment/Dockerfile"] = _render(
        "Dockerfile.j2",
        source=source_name,
        base_image=TASK_BASE,
        packages=sorted(set(env.packages)),
        has_files=bool(env.files),
        agent_user=env.agent_user,
        dockerfile=env.dockerfile.strip(),
        workdir=env.workdir,
    )
    for path, content in sorted(env.files.items()):
        files[f"environment/files{path}"] = content.encode()
    files["environment/prepare.sh"] = _render(
        "steps.sh.j2", source=source_name, purpose="failure injection", steps=spec.prepare
    )
    files["environment/entrypoint.sh"] = _render("entrypoint.sh.j2")
    if env.sidecars or env.custom_sidecars:
        files["environment/docker-compose.yaml"] = _compose(spec)
    if "o11y" in env.sidecars:
        files.update(_o11y_copy())
    files["solution/solve.sh"] = _render(
        "steps.sh.j2", source=source_name, purpose="reference solution", steps=spec.solution
    )
    files["tests/test.sh"] = _render(
        "test.sh.j2",
        task_id=spec.id,
        scenario_time=HARBOR_SCENARIO_TIME,
        answer_files=[ANSWER_FILE, HARBOR_ORACLE_LOG],
    )
    files["tests/spec.json"] = _json(spec.model_dump(mode="json"))
    files.update(_grading_copy())

    checksum = _checksum(files, _shared_context_digest(environment_dir))
    files["task.toml"] = _task_toml(spec, checksum, source_name, item.params)
    return CompiledTask(spec.id, checksum, files)


def _checksum(files: dict[str, bytes], shared_digest: str) -> str:
    h = hashlib.sha256()
    h.update(f"grader={grading.GRADER_VERSION}\0shared={shared_digest}\0".encode())
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return "sha256:" + h.hexdigest()


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _compose(spec: TaskSpec) -> bytes:
    """Harbor's compose convention: service `main` plus one service per sidecar."""
    services: dict[str, Any] = {"main": {"build": {"context": "."}, "depends_on": {}}}
    volumes: dict[str, Any] = {}
    for name in spec.environment.sidecars:
        sidecar = BUILTIN_SIDECARS[name]
        services[name] = {
            "image": sidecar.image,
            "healthcheck": {"test": sidecar.healthcheck, "interval": "1s", "retries": 30},
        }
        services["main"]["depends_on"][name] = {"condition": "service_healthy"}
        if name == "o11y":
            _o11y_service(services)
            volumes[O11Y_LOGS_VOLUME] = {}
    for custom in spec.environment.custom_sidecars:
        service: dict[str, Any] = {
            "image": custom.image,
            "environment": dict(sorted(custom.environment.items())),
            "healthcheck": {
                "test": ["CMD-SHELL", custom.healthcheck],
                "interval": "1s",
                "retries": 60,
            },
        }
        if custom.command:
            service["command"] = custom.command
        services[custom.name] = service
        services["main"]["depends_on"][custom.name] = {"condition": "service_healthy"}
    import yaml

    doc: dict[str, Any] = {"services": services} | ({"volumes": volumes} if volumes else {})
    text = yaml.safe_dump(doc, sort_keys=True, default_flow_style=False)
    return ("# Generated by opsbench; edit the spec, not this file.\n" + text).encode()


def _o11y_service(services: dict[str, Any]) -> None:
    """Under Harbor the o11y sidecar makes its own data at start (opsbench's runtime puts
    it in instead): the task's generator, seed and clock, and a start period long enough
    for the backfill. Its logs reach the task container through a shared volume."""
    services["o11y"]["environment"] = {
        "O11Y_GENERATOR": f"{O11Y_MOUNT}/{Path(O11Y_BUNDLE).name}",
        "O11Y_SCENARIO_TIME": HARBOR_SCENARIO_TIME,
        "O11Y_SEED": str(HARBOR_SEED),
    }
    services["o11y"]["volumes"] = [
        f"./{Path(O11Y_BUNDLE).parent.name}:{O11Y_MOUNT}:ro",
        f"{O11Y_LOGS_VOLUME}:/var/lib/o11y/logs",
    ]
    services["o11y"]["healthcheck"]["start_period"] = "600s"
    services["main"]["volumes"] = [f"{O11Y_LOGS_VOLUME}:/var/log/apps:ro"]


def _task_toml(spec: TaskSpec, checksum: str, source: str, params: dict[str, Any]) -> bytes:
    env = spec.environment
    doc: dict[str, Any] = {
        "schema_version": HARBOR_SCHEMA_VERSION,
        "task": {
            "name": f"opsbench/{spec.id}",
            "description": spec.title,
            "keywords": [spec.category, spec.difficulty, *spec.tags],
        },
        "metadata": {
            "generator": MANAGED_MARKER,
            "generator_version": __version__,
            "grader_version": grading.GRADER_VERSION,
            "checksum": checksum,
            "source": source,
            "params": {k: params[k] for k in sorted(params)},
            "title": spec.title,
            "category": spec.category,
            "difficulty": spec.difficulty,
            "tags": list(spec.tags),
            "sidecars": [*env.sidecars, *(s.name for s in env.custom_sidecars)],
            "pids_limit": env.resources.pids,
            "prepare_timeout_sec": env.timeouts.prepare_sec,
            "provision_timeout_sec": env.timeouts.provision_sec,
        },
        "verifier": {"timeout_sec": env.timeouts.verify_sec},
        "agent": {"timeout_sec": env.timeouts.agent_sec},
        "environment": {
            "build_timeout_sec": env.timeouts.build_sec,
            "cpus": env.resources.cpus,
            "memory_mb": env.resources.memory_mb,
            "network_mode": "public" if env.network == "internet" else "no-network",
            "workdir": env.workdir,
            # Harbor starts the agent as soon as the container runs; the entrypoint is
            # still injecting the failure then. Ready once it removed prepare.sh.
            "healthcheck": {
                "command": "test ! -e /opt/opsbench/prepare.sh",
                "interval_sec": 1.0,
                "start_period_sec": env.timeouts.prepare_sec,
                "start_interval_sec": 0.5,
                "retries": 3,
            },
        },
    }
    if not env.sidecars and not env.custom_sidecars:
        del doc["metadata"]["sidecars"]
    if env.resources.storage_mb is not None:
        doc["metadata"]["storage_mb"] = env.resources.storage_mb
    if env.agent_user:
        doc["agent"]["user"] = env.agent_user
    import tomli_w

    header = "# Generated by opsbench; edit the spec, not this file.\n"
    return (header + tomli_w.dumps(doc)).encode()


# --------------------------------------------------------------------------- all specs


def compile_all(paths: ProjectPaths, spec_root: Path | None = None) -> list[CompiledTask]:
    """Load, validate and render every spec; raise SpecError before anything is written."""
    from opsbench.specload import load_specs, spec_tree_root

    # Read the shared inputs afresh each compile (a long-lived process may see them change).
    _shared_context_digest.cache_clear()
    _grading_copy.cache_clear()
    _o11y_copy.cache_clear()
    root = spec_root or paths.specs
    loaded = load_specs(root, paths.templates if spec_root is None else None)
    display_root = spec_tree_root(root)
    compiled: list[CompiledTask] = []
    issues: list[SpecIssue] = []
    for item in loaded:
        source = _source_name(item.source, display_root)
        try:
            compiled.append(compile_task(item, paths.environment, source))
        except Exception as exc:  # a value no serializer takes (a lone surrogate, say)
            issues.append(SpecIssue(source, item.spec.id, f"a compilable task, found {exc}"))
    if issues:
        raise SpecError(issues)
    return compiled


def _source_name(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve().parent).as_posix()
    except ValueError:
        return path.name


def read_task_checksum(task: TaskPaths) -> str:
    """The checksum a compiled task carries (trials record it to detect staleness)."""
    import tomllib

    meta = tomllib.loads(task.config.read_text()).get("metadata", {})
    return str(meta.get("checksum", ""))
