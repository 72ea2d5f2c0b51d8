"""The sidecar makes its own data: `python3 -m opsbench.o11y.materialize` inside it.

Under opsbench the runtime puts cached TSDB blocks and logs into the sidecar before it
starts (`opsbench.o11y.prepare`: generated once per job, extracted into every trial). Under
Harbor nothing does that, so a compiled task carries the generator itself
(`environment/o11y/opsbench_o11y.zip`, mounted into the sidecar) with its seed and
scenario time in the compose environment, and the sidecar's `start.sh` runs this module
when it finds no data: the same generator, the same promtool call, the same bytes.

Standard library only, and nothing here imports Docker or pydantic: the sidecar image
(Debian's python3 and promtool) is all it needs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

BLOCK_SPAN = "162h"
"""promtool's --max-block-duration: 25 hours of history fit in one or two blocks."""


@dataclass(frozen=True)
class Rendered:
    """The telemetry of one (seed, scenario clock) as files."""

    clock: int
    """Unix seconds of the scenario clock (the last sample)."""
    openmetrics: bytes
    logs: dict[str, bytes]
    """`<service>.log` -> logfmt lines."""
    series: int


def render(seed: int, scenario_time: datetime) -> Rendered:
    """Generate and render: a deterministic function of seed and clock."""
    from opsbench.o11y import render as text
    from opsbench.o11y import telemetry

    tel = telemetry.generate(seed, scenario_time)
    return Rendered(tel.timeline.clock, text.openmetrics(tel), text.logs(tel), len(tel.series))


def promtool_argv(metrics: str, blocks: str) -> list[str]:
    """The backfill, the same on the host's throwaway container and in the sidecar."""
    return [
        "promtool",
        "tsdb",
        "create-blocks-from",
        "openmetrics",
        f"--max-block-duration={BLOCK_SPAN}",
        "--quiet",
        metrics,
        blocks,
    ]


def materialize(seed: int, scenario_time: datetime, data_dir: Path) -> int:
    """Write tsdb/, logs/ and, last, scenario_time under `data_dir`; returns the clock.

    `scenario_time` is written last because the healthcheck reads it: a half-made data
    directory never looks ready.
    """
    rendered = render(seed, scenario_time)
    clock = rendered.clock
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for name, data in sorted(rendered.logs.items()):
        (logs / name).write_bytes(data)
    with tempfile.TemporaryDirectory(prefix="o11y-") as tmp:
        metrics = Path(tmp) / "metrics.om"
        metrics.write_bytes(rendered.openmetrics)
        del rendered  # the OpenMetrics text is ~90 MB: free it before promtool runs
        tsdb = data_dir / "tsdb"
        tsdb.mkdir(parents=True, exist_ok=True)
        subprocess.run(promtool_argv(str(metrics), str(tsdb)), check=True)
    (data_dir / "scenario_time").write_text(f"{clock}")
    return clock


def parse_time(text: str) -> datetime:
    """Unix seconds or an ISO-8601 instant (`Z` allowed)."""
    text = text.strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m opsbench.o11y.materialize")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--scenario-time", required=True, help="unix seconds or ISO 8601")
    p.add_argument("--data-dir", type=Path, required=True)
    args = p.parse_args(argv)
    try:
        when = parse_time(args.scenario_time)
    except ValueError:
        print(f"o11y: --scenario-time: an instant, found {args.scenario_time!r}", file=sys.stderr)
        return 2
    clock = materialize(args.seed, when, args.data_dir)
    print(f"o11y: data for seed {args.seed} at {clock} in {args.data_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
