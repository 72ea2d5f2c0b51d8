"""Bring `tasks/` up to date with `tasks-spec/`.

Files are only rewritten when their bytes change (a no-op sync leaves every mtime alone),
task dirs whose spec is gone are removed (only dirs opsbench generated), and a sync whose
inputs and outputs are unchanged since the last one answers from its record without
compiling at all.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from opsbench.compile import MANAGED_MARKER, CompiledTask, compile_all
from opsbench.paths import ProjectPaths, TaskPaths
from opsbench.sync_record import SyncRecord


@dataclass(frozen=True)
class SyncReport:
    tasks: list[str]
    written: list[str]
    removed: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)


def current_task_ids(paths: ProjectPaths) -> list[str] | None:
    """The task ids when tasks/ is up to date with its inputs (no compile needed), else None."""
    return SyncRecord(paths).up_to_date()


def sync(paths: ProjectPaths, spec_root: Path | None = None, check: bool = False) -> SyncReport:
    """Bring `tasks/` up to date. With `check`, report what would change and write nothing."""
    record = SyncRecord(paths) if spec_root is None else None
    if record is not None:
        unchanged = record.up_to_date()
        if unchanged is not None:
            return SyncReport(unchanged, [], [])
    compiled = compile_all(paths, spec_root)
    written = [t for t in _write_all(paths.tasks, compiled, dry=check) if t]
    keep = {t.task_id for t in compiled}
    removed = _remove_stale(paths.tasks, keep, dry=check) if spec_root is None else []
    if record is not None and not check:
        record.record(sorted(keep))
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
