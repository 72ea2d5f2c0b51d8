"""Compile `tasks-spec/` into Harbor-format task directories under `tasks/`.

The compile is all-or-nothing: every spec is loaded and rendered in memory first, and
nothing is written if any spec is invalid. Output is deterministic (sorted keys, no
timestamps), files are only rewritten when their bytes change (a no-op sync leaves every
mtime alone), and task dirs whose spec is gone are removed.

Each task's checksum covers every byte that defines it: the rendered files (which depend on
the spec, its snippets and the generator templates), the grader version and the shared
build contexts under `environment/`. A changed checksum marks earlier trials stale.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grading
from opsbench import __version__
from opsbench.images import BUILTIN_SIDECARS, TASK_BASE
from opsbench.paths import ProjectPaths, TaskPaths

if TYPE_CHECKING:
    import jinja2

    from opsbench.models.spec import TaskSpec
    from opsbench.specload import LoadedSpec

# jinja2, yaml, tomli_w and the spec models (pydantic) are imported where they are used:
# a no-op sync answers from its manifest (see `_up_to_date`) without loading any of them.

MANAGED_MARKER = "opsbench"
"""`[metadata].generator` in task.toml: only dirs carrying it are ever removed."""

HARBOR_SCHEMA_VERSION = "1.4"
GRADING_FILES = ("__init__.py", "checks.py", "scoring.py", "incontainer.py")
"""Stdlib-only grading modules copied into each task for Harbor's in-container verifier."""


@dataclass(frozen=True)
class CompiledTask:
    task_id: str
    checksum: str
    files: dict[str, bytes]
    """Relative path -> content, task.toml included."""


@dataclass(frozen=True)
class SyncReport:
    tasks: list[str]
    written: list[str]
    removed: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)


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


def _grading_dir() -> Path:
    return Path(grading.__file__).parent


GRADING_BUNDLE = "tests/opsbench_grading.zip"


@cache
def _grading_copy() -> dict[str, bytes]:
    """The grader every task carries, as one zip Python imports from (`PYTHONPATH=...zip`).

    One file instead of a package directory: a compile writes thousands of tasks, and on
    most disks each file and directory created costs more than rendering it. Fixed
    timestamps and order keep it byte-identical across compiles.
    """
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(GRADING_FILES):
            info = zipfile.ZipInfo(f"opsbench_grading/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, (_grading_dir() / name).read_bytes())
    return {GRADING_BUNDLE: buf.getvalue()}


@cache
def _shared_context_digest(environment_dir: Path) -> str:
    """Digest of shared build contexts (base image, sidecars): they shape every task."""
    h = hashlib.sha256()
    if environment_dir.is_dir():
        for path in sorted(p for p in environment_dir.rglob("*") if p.is_file()):
            h.update(str(path.relative_to(environment_dir)).encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def compile_task(item: LoadedSpec, environment_dir: Path, source_name: str) -> CompiledTask:
    """Render one task's files in memory."""
    spec = item.spec
    files: dict[str, bytes] = {}
    rules = [r.instruct for r in spec.compliance if r.instruct]
    files["instruction.md"] = _render(
        "instruction.md.j2", title=spec.title, statement=spec.statement, rules=rules
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
    files["solution/solve.sh"] = _render(
        "steps.sh.j2", source=source_name, purpose="reference solution", steps=spec.solution
    )
    files["tests/test.sh"] = _render("test.sh.j2", task_id=spec.id)
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
    for name in spec.environment.sidecars:
        sidecar = BUILTIN_SIDECARS[name]
        services[name] = {
            "image": sidecar.image,
            "healthcheck": {"test": sidecar.healthcheck, "interval": "1s", "retries": 30},
        }
        services["main"]["depends_on"][name] = {"condition": "service_healthy"}
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

    text = yaml.safe_dump({"services": services}, sort_keys=True, default_flow_style=False)
    return ("# Generated by opsbench; edit the spec, not this file.\n" + text).encode()


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
        },
    }
    if not env.sidecars and not env.custom_sidecars:
        del doc["metadata"]["sidecars"]
    if env.agent_user:
        doc["agent"]["user"] = env.agent_user
    import tomli_w

    header = "# Generated by opsbench; edit the spec, not this file.\n"
    return (header + tomli_w.dumps(doc)).encode()


# --------------------------------------------------------------------------- sync


def compile_all(paths: ProjectPaths, spec_root: Path | None = None) -> list[CompiledTask]:
    """Load, validate and render every spec; raise SpecError before anything is written."""
    from opsbench.specload import load_specs, spec_tree_root

    # Read the shared inputs afresh each compile (a long-lived process may see them change).
    _shared_context_digest.cache_clear()
    _grading_copy.cache_clear()
    root = spec_root or paths.specs
    loaded = load_specs(root, paths.templates if spec_root is None else None)
    display_root = root if root.is_dir() else spec_tree_root(root)
    return [
        compile_task(item, paths.environment, _source_name(item.source, display_root))
        for item in loaded
    ]


def _source_name(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve().parent).as_posix()
    except ValueError:
        return path.name


def current_task_ids(paths: ProjectPaths) -> list[str] | None:
    """The task ids when tasks/ is up to date with its inputs (no compile needed), else None."""
    return _Manifest(paths).up_to_date()


def sync(paths: ProjectPaths, spec_root: Path | None = None, check: bool = False) -> SyncReport:
    """Bring `tasks/` up to date. With `check`, report what would change and write nothing."""
    manifest = _Manifest(paths) if spec_root is None else None
    if manifest is not None:
        unchanged = manifest.up_to_date()
        if unchanged is not None:
            return SyncReport(unchanged, [], [])
    compiled = compile_all(paths, spec_root)
    written = [t for t in _write_all(paths.tasks, compiled, dry=check) if t]
    keep = {t.task_id for t in compiled}
    removed = _remove_stale(paths.tasks, keep, dry=check) if spec_root is None else []
    if manifest is not None and not check:
        manifest.record(sorted(keep))
    return SyncReport(sorted(keep), written, removed)


def _write_all(tasks_dir: Path, compiled: list[CompiledTask], dry: bool) -> list[str]:
    """Write every task, several at a time: creating files waits on the disk, not the CPU,
    and those system calls release the GIL."""
    from concurrent.futures import ThreadPoolExecutor

    def one(task: CompiledTask) -> str:
        return task.task_id if _write_task(tasks_dir / task.task_id, task, dry) else ""

    if len(compiled) < 16:
        return [one(t) for t in compiled]
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, compiled))


def _same_bytes(target: Path, content: bytes) -> bool:
    try:
        with open(target, "rb") as f:
            return f.read(len(content) + 1) == content
    except OSError:
        return False


def _write_new(target: Path, content: bytes, mode: int) -> None:
    """Create a file in a task dir that did not exist: no temp file and rename needed (an
    interrupted compile leaves the sync record stale, so the next sync redoes the task)."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, content)
        os.fchmod(fd, mode)  # the umask must not change what we generate
    finally:
        os.close(fd)


def _write_task(task_dir: Path, task: CompiledTask, dry: bool) -> bool:
    """Write changed files, drop files no longer generated; True if anything differed."""
    existed = task_dir.is_dir()
    changed = False
    made: set[Path] = set()  # mkdir is slow on some disks: once per directory
    for rel, content in task.files.items():
        target = task_dir / rel
        if existed and _same_bytes(target, content):
            continue
        changed = True
        if dry:
            continue
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        mode = 0o755 if rel.endswith(".sh") else 0o644
        if not existed:
            _write_new(target, content, mode)
            continue
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(content)
        tmp.chmod(mode)
        tmp.replace(target)
    if existed:
        expected = set(task.files)
        top = str(task_dir)
        for dirpath, _dirs, filenames in os.walk(top, topdown=False):
            prefix = "" if dirpath == top else os.path.relpath(dirpath, top).replace(os.sep, "/")
            for name in filenames:
                if (f"{prefix}/{name}" if prefix else name) not in expected:
                    changed = True
                    if not dry:
                        os.unlink(os.path.join(dirpath, name))
            if dirpath != top and not dry and not os.listdir(dirpath):
                os.rmdir(dirpath)
    return changed


# --------------------------------------------------------------------------- manifest

MANIFEST_VERSION = 1
MANIFEST_FILE = Path(".opsbench-cache") / "sync-manifest.json"
"""Under the project root (ignored by git): what the last full sync read and wrote."""

_LIBRARIES = (
    "jinja2",
    "markupsafe",
    "yaml",
    "pydantic",
    "pydantic_core",
    "tomli_w",
    "promql_parser",
)
"""Libraries whose version can change the generated bytes or what validates."""


class _Manifest:
    """Lets a no-op sync skip loading and rendering.

    It records a digest of every input of a full sync (the specs and snippets, the
    environment/ build contexts, opsbench's and the grader's own code, the library
    versions) and the size and mtime of every file and directory under tasks/ it left.
    When both still match, tasks/ is what a compile would write, so the sync is answered
    without importing the compiler's dependencies. Any difference (an edited spec, a
    hand-edited or deleted task file, an extra directory) falls back to a full compile,
    which restores the tree as before. Like git's index, it trusts mtimes: a task file
    rewritten with the same size in the same clock tick as the sync would go unseen.
    """

    def __init__(self, paths: ProjectPaths) -> None:
        self.paths = paths
        self.file = paths.root / MANIFEST_FILE
        self._inputs: str | None = None

    def inputs(self) -> str:
        if self._inputs is None:
            self._inputs = _input_digest(self.paths)
        return self._inputs

    def up_to_date(self) -> list[str] | None:
        """The task ids if tasks/ is exactly what the current inputs compile to."""
        try:
            saved = json.loads(self.file.read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(saved, dict) or saved.get("version") != MANIFEST_VERSION:
            return None
        if saved.get("inputs") != self.inputs():
            return None
        if not _outputs_unchanged(self.paths.tasks, saved.get("outputs", {})):
            return None
        return list(saved["tasks"])

    def record(self, tasks: list[str]) -> None:
        doc = {
            "version": MANIFEST_VERSION,
            "inputs": self.inputs(),
            "tasks": tasks,
            "outputs": _output_state(self.paths.tasks, tasks),
        }
        data = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
        try:
            if self.file.is_file() and self.file.read_bytes() == data:
                return
            self.file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.file.with_name(self.file.name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(self.file)
        except OSError:
            pass  # a cache: without it the next sync compiles in full


def _files_under(root: Path) -> list[tuple[str, str]]:
    """(relative posix path, full path) of every file under `root`, sorted, no bytecode."""
    out: list[tuple[str, str]] = []
    top = str(root)
    for dirpath, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        prefix = os.path.relpath(dirpath, top).replace(os.sep, "/")
        for name in files:
            if not name.endswith(".pyc"):
                out.append(
                    (name if prefix == "." else f"{prefix}/{name}", os.path.join(dirpath, name))
                )
    return sorted(out)


def _input_digest(paths: ProjectPaths) -> str:
    h = hashlib.sha256(f"manifest={MANIFEST_VERSION}\0opsbench={__version__}\0".encode())
    roots = {
        "code": Path(__file__).parent,
        "grading": _grading_dir(),
        "specs": paths.specs,
        "environment": paths.environment,
    }
    for label, root in roots.items():
        h.update(f"[{label}]\0".encode())
        for rel, full in _files_under(root):
            with open(full, "rb") as f:
                h.update(rel.encode() + b"\0" + hashlib.sha256(f.read()).digest())
    for name in _library_versions():
        h.update(name.encode() + b"\0")
    return h.hexdigest()


def _library_versions() -> list[str]:
    """Installed distributions beside the libraries the compiler uses (names carry versions)."""
    import importlib.util
    import sys

    sites: set[str] = set()
    for module in _LIBRARIES:
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.origin:
            sites.add(os.path.dirname(os.path.dirname(spec.origin)))
    names = [sys.version]
    for site in sorted(sites):
        try:
            names += sorted(n for n in os.listdir(site) if n.endswith(".dist-info"))
        except OSError:
            continue
    return names


def _output_state(tasks_dir: Path, tasks: list[str]) -> dict[str, list[int]]:
    """rel path -> [size, mtime_ns] for files, [-1, mtime_ns] for directories.

    Directories count because adding or removing an entry changes their mtime: an extra
    file or directory anywhere in a task shows without listing the tree again.
    """
    base = f"{tasks_dir}/"
    try:
        state = {"": [-1, os.stat(tasks_dir).st_mtime_ns]}
    except OSError:
        return {}
    stack = list(tasks)
    while stack:
        rel = stack.pop()
        try:
            state[rel] = [-1, os.stat(base + rel).st_mtime_ns]
            with os.scandir(base + rel) as entries:
                for entry in entries:
                    sub = f"{rel}/{entry.name}"
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(sub)
                    else:
                        st = entry.stat()
                        state[sub] = [st.st_size, st.st_mtime_ns]
        except OSError:
            return {}
    return state


def _outputs_unchanged(tasks_dir: Path, outputs: dict[str, list[int]]) -> bool:
    """Every recorded file and directory still has its recorded size and mtime."""
    if not outputs:
        return False
    base = f"{tasks_dir}/"
    stat = os.stat
    try:
        for rel, (size, mtime_ns) in outputs.items():
            st = stat(base + rel if rel else tasks_dir)
            if st.st_mtime_ns != mtime_ns or (size >= 0 and st.st_size != size):
                return False
    except (OSError, TypeError, ValueError):
        return False
    return True


def _remove_stale(tasks_dir: Path, keep: set[str], dry: bool) -> list[str]:
    removed: list[str] = []
    if not tasks_dir.is_dir():
        return removed
    for task_dir in sorted(p for p in tasks_dir.iterdir() if p.is_dir()):
        if task_dir.name in keep or not _is_managed(TaskPaths(task_dir)):
            continue
        removed.append(task_dir.name)
        if not dry:
            shutil.rmtree(task_dir)
    return removed


def _is_managed(task: TaskPaths) -> bool:
    import tomllib

    try:
        meta = tomllib.loads(task.config.read_text()).get("metadata", {})
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return bool(meta.get("generator") == MANAGED_MARKER)


def read_task_checksum(task: TaskPaths) -> str:
    """The checksum a compiled task carries (trials record it to detect staleness)."""
    import tomllib

    meta = tomllib.loads(task.config.read_text()).get("metadata", {})
    return str(meta.get("checksum", ""))
