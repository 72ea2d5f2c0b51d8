"""Time the CLI's startup: `opsbench job --help` and `opsbench sync --list-ids`.

    uv run python benchmarks/cli_startup.py [--runs 7]

Each command runs as its own process (the venv's `opsbench` console script), median of
several runs; target < 0.5 s. Each is also run once with `-X importtime` to say whether
LiteLLM was imported (it must not be: it takes seconds and these commands call no model)
and which imports cost the most. Prints figures; no pass/fail.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_SEC = 0.5
COMMANDS = (("job", "--help"), ("sync", "--list-ids"))
HEAVY = ("litellm", "docker", "ray", "openai", "tiktoken", "rich")


@dataclass
class Import:
    module: str
    self_us: int
    cumulative_us: int
    depth: int


def opsbench_argv() -> list[str]:
    """The installed console script, or the module when the script is not there."""
    script = Path(sys.executable).with_name("opsbench")
    if script.is_file():
        return [str(script)]
    found = shutil.which("opsbench")
    return [found] if found else [sys.executable, "-m", "opsbench.cli"]


def env() -> dict[str, str]:
    out = dict(os.environ)
    out.pop("PYTHONPROFILEIMPORTTIME", None)
    return out


def time_command(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=REPO, capture_output=True, env=env(), check=False)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr.decode()[-2000:]}")
    return times


def imports_of(argv: list[str]) -> list[Import]:
    """Parse `-X importtime` output (PYTHONPROFILEIMPORTTIME works for console scripts)."""
    proc = subprocess.run(
        argv,
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**env(), "PYTHONPROFILEIMPORTTIME": "1"},
        check=False,
    )
    line = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")
    out = []
    for text in proc.stderr.splitlines():
        m = line.match(text)
        if m:
            out.append(Import(m.group(4), int(m.group(1)), int(m.group(2)), len(m.group(3)) // 2))
    return out


def report(name: str, argv: list[str], runs: int) -> None:
    times = time_command(argv, runs)
    median = statistics.median(times)
    verdict = "within" if median < TARGET_SEC else "OVER"
    print(
        f"opsbench {name}: median {median:.3f} s over {runs} runs "
        f"(min {min(times):.3f}, max {max(times):.3f}) — {verdict} the {TARGET_SEC} s target"
    )
    imports = imports_of(argv)
    modules = {i.module for i in imports}
    for heavy in HEAVY:
        loaded = any(m == heavy or m.startswith(heavy + ".") for m in modules)
        mark = "IMPORTED" if loaded else "not imported"
        if heavy == "litellm" or loaded:
            print(f"  {heavy}: {mark}")
    total = sum(i.self_us for i in imports) / 1e6
    print(f"  imports: {len(imports)} modules, {total:.3f} s (under -X importtime)")
    top = sorted((i for i in imports if i.depth == 0), key=lambda i: -i.cumulative_us)[:8]
    for item in top:
        print(f"    {item.cumulative_us / 1e6:6.3f} s  {item.module}")
    ours = [i for i in imports if i.module.startswith(("opsbench", "grading", "agents"))]
    ours = sorted(ours, key=lambda i: -i.cumulative_us)[:6]
    if ours:
        print("  heaviest opsbench modules (cumulative, with what they import):")
        for item in ours:
            print(f"    {item.cumulative_us / 1e6:6.3f} s  {item.module}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    base = opsbench_argv()
    print(f"running {' '.join(base)} in {REPO}")
    bare = time_command([sys.executable, "-c", "pass"], args.runs)
    print(f"python itself: median {statistics.median(bare):.3f} s")
    for command in COMMANDS:
        report(" ".join(command), [*base, *command], args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
