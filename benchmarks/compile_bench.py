"""Time `opsbench sync` on 1,000 generated specs: a full compile and a no-op re-sync.

    uv run python benchmarks/compile_bench.py [--specs 1000] [--profile]

Targets: full sync < 3 s, no-op re-sync < 0.5 s (wall time of `opsbench sync` as a
process, which is what a user waits for). Prints figures; no pass/fail. `--profile`
prints where an in-process no-op re-sync spends its time (cProfile, top entries).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TEMPLATE_EVERY = 5
"""Every fifth spec is a template (a 2x2 matrix, half of them including a snippet)."""

SNIPPET = """\
- kind: forbid
  name: no-rm-rf-{{ svc }}
  pattern: 'rm\\s+-rf\\s+/var/lib/{{ svc }}'
  instruct: Never delete /var/lib/{{ svc }}.
"""
"""A shared snippet (PyYAML writes block sequences unindented, so the snippet does too)."""


def plain_spec(i: int) -> str:
    data = {
        "id": f"plain-{i:05d}",
        "title": f"Service {i} is down",
        "difficulty": ("easy", "medium", "hard")[i % 3],
        "tags": ["bench", f"group-{i % 10}"],
        "statement": f"Service {i} stopped answering on port {8000 + i % 1000}. Fix it.\n",
        "environment": {
            "packages": ["curl", "procps"],
            "files": {f"/etc/svc{i}/app.conf": f"port = {8000 + i % 1000}\n"},
        },
        "prepare": [{"run": f"mkdir -p /var/lib/svc{i}"}],
        "solution": [{"run": f"systemctl restart svc{i} || true"}],
        "checks": [
            {"kind": "command", "name": "up", "run": "true", "stdout_matches": "^$"},
            {"kind": "file", "name": "conf", "path": f"/etc/svc{i}/app.conf", "contains": "port"},
        ],
        "compliance": [
            {"kind": "forbid", "name": "no-kill-9", "pattern": r"kill\s+-9", "instruct": "No -9."}
        ],
    }
    return "# yaml-language-server: $schema=../../schema/task-spec.schema.json\n" + yaml.safe_dump(
        data, sort_keys=False
    )


def template_spec(i: int) -> str:
    header = yaml.safe_dump({"matrix": {"svc": [f"a{i}", f"b{i}"], "tier": ["web", "db"]}})
    body = plain_spec(i).replace(f"plain-{i:05d}", f"tmpl-{i:05d}-{{{{ svc }}}}-{{{{ tier }}}}")
    body = body.replace(f"Service {i} is down", "{{ svc }} ({{ tier }}) is down")
    if i % 2 == 0:
        body = body.replace("compliance:\n", 'compliance:\n{% include "bench_rules.yaml.j2" %}\n')
    return header + "---\n" + body


def make_project(root: Path, n_specs: int) -> int:
    """Write the project; returns the number of tasks it should compile to."""
    for name in ("environment", "schema"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy2(REPO / "pyproject.toml", root / "pyproject.toml")
    specs = root / "tasks-spec"
    (specs / "_templates").mkdir(parents=True)
    (specs / "_templates" / "bench_rules.yaml.j2").write_text(SNIPPET)
    tasks = 0
    for i in range(n_specs):
        category = ("remediation", "diagnosis", "capacity", "security")[i % 4]
        (specs / category).mkdir(exist_ok=True)
        if i % TEMPLATE_EVERY == 0:
            (specs / category / f"tmpl-{i:05d}.yaml").write_text(template_spec(i))
            tasks += 4
        else:
            (specs / category / f"plain-{i:05d}.yaml").write_text(plain_spec(i))
            tasks += 1
    return tasks


def timed_sync(root: Path, *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "opsbench.cli", "sync", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"sync failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout.strip()


def profile_noop(root: Path, top: int = 25) -> str:
    from opsbench.paths import ProjectPaths
    from opsbench.sync import sync

    profiler = cProfile.Profile()
    profiler.enable()
    sync(ProjectPaths(root))
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def phases(root: Path) -> str:
    """In-process: load + validate, then render, of the whole tree (nothing written)."""
    from opsbench.compile import compile_task
    from opsbench.paths import ProjectPaths
    from opsbench.specload import load_specs

    paths = ProjectPaths(root)
    start = time.perf_counter()
    loaded = load_specs(paths.specs, paths.templates)
    loaded_at = time.perf_counter()
    for item in loaded:
        compile_task(item, paths.environment, item.source.name)
    done = time.perf_counter()
    return f"load+validate {loaded_at - start:.2f} s, render {done - loaded_at:.2f} s"


def disk_speed(root: Path, n: int = 500) -> str:
    """What creating directories and small files costs on this disk (the write floor)."""
    probe = root / "disk-probe"
    probe.mkdir()
    start = time.perf_counter()
    for i in range(n):
        (probe / f"d{i}").mkdir()
    mid = time.perf_counter()
    for i in range(n):
        (probe / f"d{i}" / "f").write_bytes(b"x" * 512)
    end = time.perf_counter()
    shutil.rmtree(probe)
    return (
        f"mkdir {(mid - start) / n * 1e6:.0f} us, "
        f"create+write a small file {(end - mid) / n * 1e6:.0f} us"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="profile a no-op re-sync")
    parser.add_argument("--runs", type=int, default=5, help="no-op re-syncs to time (median)")
    parser.add_argument("--dir", help="where to make the project (default: the temp dir)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="opsbench-compile-bench-", dir=args.dir) as tmp:
        root = Path(tmp)
        expected = make_project(root, args.specs)
        templates = len(range(0, args.specs, TEMPLATE_EVERY))
        print(
            f"{args.specs} specs ({args.specs - templates} plain, {templates} templates) "
            f"-> {expected} tasks, in {root.parent}"
        )

        full, summary = timed_sync(root)
        print(f"full sync:       {full:6.2f} s  (target < 3 s)    [{summary}]")
        produced = sum(1 for p in (root / "tasks").iterdir() if p.is_dir())
        files = sum(1 for p in (root / "tasks").rglob("*") if p.is_file())
        dirs = sum(1 for p in (root / "tasks").rglob("*") if p.is_dir())
        if produced != expected:
            print(f"warning: {produced} task dirs, expected {expected}")

        noops = sorted(timed_sync(root)[0] for _ in range(args.runs))
        noop = noops[len(noops) // 2]
        print(f"no-op re-sync:   {noop:6.2f} s  (target < 0.5 s)  [median of {args.runs}]")
        check, _ = timed_sync(root, "--check")
        print(f"sync --check:    {check:6.2f} s")

        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import opsbench.compile"], cwd=root, check=True)
        print(f"python + import opsbench.compile: {time.perf_counter() - start:5.2f} s")
        print(f"full sync, in process: {phases(root)}; then {files} files in {dirs} dirs written")
        print(f"this disk: {disk_speed(root)}")

        if args.profile or noop > 0.5:
            os.chdir(root)
            print("\nprofile of an in-process no-op re-sync (cumulative):")
            print(profile_noop(root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
