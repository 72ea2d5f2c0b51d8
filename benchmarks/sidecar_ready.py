"""How fast the o11y sidecar is ready on a warm image: median over several starts.

    uv run python benchmarks/sidecar_ready.py [--starts 7]

Builds the image if needed and prepares the data once (the first backfill is timed too),
then, for each start: create the container, put the archives, start it, and measure from
`start()` to (a) the first success of the image's healthcheck run with `docker exec`
(what the runtime's own probe does) and (b) Docker's health status `healthy` (the
image's HEALTHCHECK, 200 ms interval). The target is 1 s; prints figures, no pass/fail.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
JOB = "bench-sidecar-ready"


def _wait(container: Any, probe: bool, start: float) -> float:
    while True:
        if probe:
            if container.exec_run(["/opt/o11y/healthcheck.sh"]).exit_code == 0:
                return time.monotonic() - start
        else:
            container.reload()
            state = container.attrs["State"]
            if (state.get("Health") or {}).get("Status") == "healthy":
                return time.monotonic() - start
            if not state["Running"]:
                raise SystemExit(f"sidecar exited: {container.logs().decode()[-2000:]}")
        if time.monotonic() - start > 60:
            raise SystemExit("sidecar not ready after 60 s")
        time.sleep(0.01)


def _one(data: Any, probe: bool) -> tuple[float, float]:
    """(seconds to ready, seconds spent creating and filling before start)."""
    from opsbench.o11y import SIDECAR_IMAGE
    from opsbench.runtime.docker import client, labels

    t0 = time.monotonic()
    container = client().containers.create(SIDECAR_IMAGE, labels=labels(JOB, "bench", "sidecar"))
    try:
        for archive in data.sidecar:
            container.put_archive(archive.path, archive.data)
        setup = time.monotonic() - t0
        start = time.monotonic()
        container.start()
        return _wait(container, probe, start), setup
    finally:
        container.remove(force=True)


def _summary(name: str, values: list[float]) -> str:
    return (
        f"{name}: median {statistics.median(values):.3f} s "
        f"(min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=7)
    args = parser.parse_args()

    from opsbench.o11y import prepare_o11y
    from opsbench.runtime.images import ensure_sidecars

    ensure_sidecars(REPO / "environment")
    clock = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="opsbench-bench-") as tmp:
        t0 = time.monotonic()
        data = prepare_o11y(Path(tmp) / JOB / ".cache", clock)
        first = time.monotonic() - t0
        t0 = time.monotonic()
        prepare_o11y(Path(tmp) / JOB / ".cache", clock)
        cached = time.monotonic() - t0
    print(f"prepare_o11y: first (generate + backfill) {first:.2f} s, cached {cached:.3f} s")
    print(
        f"archives: sidecar {sum(len(a.data) for a in data.sidecar) / 1e6:.1f} MB, "
        f"main {sum(len(a.data) for a in data.main) / 1e6:.1f} MB"
    )
    _one(data, probe=True)  # warm the page cache and the engine
    probed, setups = zip(*(_one(data, probe=True) for _ in range(args.starts)), strict=True)
    healthy = [_one(data, probe=False)[0] for _ in range(args.starts)]
    print(_summary("create + put_archive (before start)", list(setups)))
    print(_summary("start -> healthcheck passes (exec probe)", list(probed)))
    print(_summary("start -> Docker health 'healthy'", healthy))


if __name__ == "__main__":
    main()
