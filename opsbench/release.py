"""Build, write and check the release manifest (`release.json`, committed).

The manifest is made from an in-memory compile of `tasks-spec/` (nothing is written to
`tasks/`), so `opsbench release --check` answers in CI from a clean clone. The benchmark
name and version are the committed manifest's unless given: a release is renamed or
bumped on purpose, never by a recompile.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grading
from opsbench import __version__
from opsbench.errors import OpsbenchError
from opsbench.models.release import (
    DEFAULT_MAX_SUSPECT_FRACTION,
    DEFAULT_MIN_ATTEMPTS,
    ReleaseManifest,
    ReleaseTask,
)
from opsbench.paths import ProjectPaths

BENCHMARK = "opsbench"


def spec_digest(spec: Any) -> str:
    """sha256 of a spec as canonical JSON: the same for `tests/spec.json` and for the copy
    a trial's evidence carries, whatever their whitespace."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ReleaseIdentity:
    benchmark: str
    version: str
    min_attempts: int = DEFAULT_MIN_ATTEMPTS
    max_suspect_fraction: float = DEFAULT_MAX_SUSPECT_FRACTION


def load_release(path: Path) -> ReleaseManifest:
    """The manifest at `path`; a missing or malformed one is a user error naming the file."""
    from pydantic import ValidationError

    try:
        return ReleaseManifest.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise OpsbenchError(f"{path}: cannot read the release manifest ({exc.strerror})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(file)"
        raise OpsbenchError(f"{path}: {loc}: {first['msg']}") from None


def current_identity(paths: ProjectPaths) -> ReleaseIdentity:
    """Name, version and entry rules of the committed manifest, else the defaults."""
    path = paths.release
    if not path.is_file():
        return ReleaseIdentity(BENCHMARK, __version__)
    saved = load_release(path)
    return ReleaseIdentity(
        saved.benchmark, saved.version, saved.min_attempts, saved.max_suspect_fraction
    )


def build_manifest(
    paths: ProjectPaths, identity: ReleaseIdentity, task_ids: Iterable[str] | None = None
) -> ReleaseManifest:
    """The manifest of the corpus as compiled now; `task_ids` restricts it to some tasks
    (an unknown id is an error)."""
    from opsbench.compile import compile_all

    compiled = {t.task_id: t for t in compile_all(paths)}
    chosen = sorted(compiled) if task_ids is None else sorted(set(task_ids))
    unknown = [t for t in chosen if t not in compiled]
    if unknown:
        raise OpsbenchError(f"release: unknown task(s): {', '.join(unknown)}")
    tasks = []
    for task_id in chosen:
        spec = json.loads(compiled[task_id].files["tests/spec.json"])
        tasks.append(
            ReleaseTask(
                id=task_id,
                category=str(spec.get("category", "")),
                checksum=compiled[task_id].checksum,
                spec_sha256=spec_digest(spec),
            )
        )
    return ReleaseManifest(
        benchmark=identity.benchmark,
        version=identity.version,
        grader_version=grading.GRADER_VERSION,
        min_attempts=identity.min_attempts,
        max_suspect_fraction=identity.max_suspect_fraction,
        tasks=tasks,
    )


def render_manifest(manifest: ReleaseManifest) -> str:
    return json.dumps(manifest.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
