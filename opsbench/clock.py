"""The scenario clock: one instant per job (or suite) that anchors synthetic telemetry.

Written once on the first run to `scenario_time.txt`; every resume, attempt and regrade
reads it back, so reruns see the same data window. `OPSBENCH_SCENARIO_TIME` overrides it
for debugging.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from opsbench.errors import OpsbenchError


def parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise OpsbenchError(f"scenario time: an ISO-8601 instant, found {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def scenario_time(path: Path, inherited: Path | None = None) -> datetime:
    """Read the job's clock, else the suite's (`inherited`), else create it (minute-aligned)."""
    override = os.environ.get("OPSBENCH_SCENARIO_TIME")
    if override:
        return parse_time(override)
    for candidate in (path, inherited):
        if candidate is not None and candidate.is_file():
            value = parse_time(candidate.read_text())
            if not path.is_file():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(format_time(value) + "\n")
            return value
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    # A suite's first job fixes the suite's clock too, so every later variant inherits it.
    for target in (inherited, path):
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(format_time(now) + "\n")
    return now


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
