"""Where the store is: `OPSBENCH_DATABASE_URL`, else the project's `jobs/results.db`.

Kept apart from the engine so the CLI and the job-end hook can name the store without
importing SQLAlchemy.
"""

from __future__ import annotations

import os
from pathlib import Path

from opsbench.paths import ProjectPaths, find_root

ENV_VAR = "OPSBENCH_DATABASE_URL"
DISABLED = ("off", "none", "")
"""`OPSBENCH_DATABASE_URL=off` turns the automatic ingest at job end off."""


def default_sqlite_path(root: Path | None = None) -> Path:
    return ProjectPaths(root or find_root()).jobs / "results.db"


def store_url(explicit: str | None = None) -> str:
    """The URL to open: `--database-url`, else the environment, else the default file."""
    if explicit:
        return explicit
    env = os.environ.get(ENV_VAR)
    if env is not None and env.strip().lower() not in DISABLED:
        return env.strip()
    return f"sqlite:///{default_sqlite_path()}"


def store_disabled() -> bool:
    value = os.environ.get(ENV_VAR)
    return value is not None and value.strip().lower() in DISABLED


def sqlite_file(url: str) -> Path | None:
    """The file a `sqlite:///` URL names (None for other databases or in-memory)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == "sqlite://" or ":memory:" in url:
        return None
    return Path(url[len(prefix) :].split("?", 1)[0])
