"""How long calibrating the whole corpus takes, and where the time goes.

Runs `opsbench validate` (oracle, nop and the red team, exactly what CI runs) into a
throwaway jobs directory and prints: the wall time, trials run, trials per minute, and
per category the trials and median seconds of each phase. The first run also builds the
task images (reported apart when `--warm` runs a calibration-only pass first).

    uv run python benchmarks/calibration_bench.py [--warm] [--n-concurrent N] [-- validate args]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def validate(jobs: Path, extra: list[str]) -> float:
    start = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "opsbench.cli", "validate", "--jobs-dir", str(jobs), *extra],
        cwd=REPO,
        check=False,
        stdout=subprocess.DEVNULL,
    )
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", action="store_true", help="build images first, untimed")
    parser.add_argument("--n-concurrent", type=int)
    parser.add_argument("validate_args", nargs="*")
    args = parser.parse_args()
    extra = list(args.validate_args)
    if args.n_concurrent:
        extra += ["--n-concurrent", str(args.n_concurrent)]
    with tempfile.TemporaryDirectory(prefix="opsbench-calibration-") as tmp:
        if args.warm:
            warm = validate(Path(tmp) / "warm", ["--no-redteam", "--oracle-attempts", "1"])
            print(f"warm-up (image builds, calibration only): {warm:.1f}s")
        jobs = Path(tmp) / "validate"
        wall = validate(jobs, extra)
        phases: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        trials = 0
        for result_file in jobs.glob("*/*/result.json"):
            result = json.loads(result_file.read_text())
            trials += 1
            for phase, timing in (result.get("phases") or {}).items():
                phases[result.get("category") or "?"][phase].append(timing["seconds"])
        print(f"validate: {wall:.1f}s wall, {trials} trials, {trials / wall * 60:.1f} trials/min")
        for category, by_phase in sorted(phases.items()):
            n = len(by_phase.get("provision", []))
            medians = " ".join(f"{p} {statistics.median(v):.2f}s" for p, v in by_phase.items() if v)
            print(f"  {category:14} {n:4} trials  median: {medians}")


if __name__ == "__main__":
    main()
