"""Speed of the results store: ingest, `opsbench trends`, and the view's first byte.

    uv run python benchmarks/store_bench.py [--trials 10000] [--jobs 200] [--history 100000]
                                            [--skip-postgres]

1. Ingest of one job of `--trials` trials written through the real models (result.json,
   grading details, trajectory, commands; `benchmarks/report_bench.py`'s builder), into a
   fresh SQLite file and a fresh PostgreSQL database (a throwaway server, started like the
   tests start theirs), then again (the idempotent re-ingest). Targets: 5 s and 10 s.
2. `trends` over `--jobs` jobs holding `--history` trials in all: the query functions, and
   the `opsbench trends` command as a process. Target: 1 s.
3. `opsbench view` over that store, as a process: time to the first byte of each page
   (median of 5 requests). Target: 300 ms.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.report_bench import build_job  # noqa: E402
from opsbench.store.artifacts import GradingRecord, JobRecord, TrialRecord, job_key  # noqa: E402
from opsbench.store.engine import Store, open_store  # noqa: E402
from opsbench.store.ingest import ingest_job, write_record  # noqa: E402
from opsbench.store.tables import jobs  # noqa: E402
from opsbench.store.trends import regressions, trends  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)
VARIANTS = (
    "openai-gpt-a-low",
    "openai-gpt-b-off",
    "anthropic-claude-c-high",
    "no-model-off-oracle",
)
CATEGORIES = ("alerts", "logs", "remediation", "investigation")


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (ingest's reader processes)."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def time_ingest(label: str, url: str, job_dir: Path) -> None:
    store = open_store(url)
    try:
        cpu, t = cpu_seconds(), time.perf_counter()
        report = ingest_job(store, job_dir)
        first, first_cpu = time.perf_counter() - t, cpu_seconds() - cpu
        cpu, t = cpu_seconds(), time.perf_counter()
        ingest_job(store, job_dir)
        again, again_cpu = time.perf_counter() - t, cpu_seconds() - cpu
    finally:
        store.close()
    print(
        f"ingest {report.trials} trials into {label}: {first:.2f} s wall, {first_cpu:.2f} s CPU "
        f"of ours (re-ingest {again:.2f} s wall, {again_cpu:.2f} s CPU; "
        f"{report.new_gradings} gradings)"
    )


def synthetic_job(i: int, trials_per_job: int, rng: random.Random) -> JobRecord:
    """A job record built in memory (the history benchmark measures reads, not parsing)."""
    variant = VARIANTS[i % len(VARIANTS)]
    start = T0 + timedelta(hours=6 * i)
    clock = start.isoformat().replace("+00:00", "Z")
    record = JobRecord(
        key=job_key(f"{variant}-k5", clock),
        row={
            "name": f"{variant}-k5",
            "variant": variant,
            "model": None,
            "reasoning_effort": "low",
            "agent": "sre",
            "n_attempts": 5,
            "judge_model": None,
            "scenario_time": clock,
            "started_at": start,
            "finished_at": start + timedelta(hours=1),
            "opsbench_version": "0.1.0",
            "host": "bench",
            "path": None,
            "config": {},
            "n_trials": trials_per_job,
        },
    )
    for n in range(trials_per_job):
        task = n // 5
        outcome = rng.choices(("graded", "agent_error", "infra_error"), (90, 5, 5))[0]
        passed = outcome == "graded" and rng.random() < 0.6
        record.trials.append(
            TrialRecord(
                name=f"task-{task:03d}__{n % 5 + 1}",
                row={
                    "trial_name": f"task-{task:03d}__{n % 5 + 1}",
                    "source_digest": f"{i}-{n}",
                    "task_id": f"task-{task:03d}",
                    "attempt": n % 5 + 1,
                    "category": CATEGORIES[task % len(CATEGORIES)],
                    "difficulty": "medium",
                    "task_checksum": "sha256:0",
                    "outcome": outcome,
                    "scored": outcome != "infra_error",
                    "passed": passed,
                    "task_gate": passed,
                    "compliance_gate": True,
                    "reward": 1.0 if passed else 0.0,
                    "partial": False,
                    "started_at": start,
                    "finished_at": start + timedelta(seconds=60),
                    "seconds": 60.0,
                    "phases": {},
                    "calls": 5,
                    "input_tokens": 10_000,
                    "output_tokens": 800,
                    "cost_usd": 0.01,
                    "exception_type": None,
                    "grader_version": "1",
                    "opsbench_version": "0.1.0",
                    "audit_flags": None,
                    "suspect": None,
                },
                gradings=[
                    GradingRecord(
                        digest=f"{i}-{n}",
                        graded_at=start,
                        source="current",
                        current=True,
                        row={
                            "reward": 1.0 if passed else 0.0,
                            "task_gate": passed,
                            "compliance_gate": True,
                            "passed": passed,
                            "grader_version": "1",
                            "judge_model": None,
                        },
                        verdicts=[
                            {
                                "section": "checks",
                                "name": "check",
                                "kind": "command",
                                "passed": passed,
                                "verdict": "pass" if passed else "fail",
                                "weight": 1.0,
                                "message": "",
                            }
                        ],
                    )
                ]
                if outcome == "graded"
                else [],
            )
        )
    return record


def fill_history(store: Store, jobs: int, trials: int) -> None:
    rng = random.Random(11)
    per_job = trials // jobs
    t = time.perf_counter()
    for i in range(jobs):
        with store.write() as conn:
            write_record(conn, synthetic_job(i, per_job, rng))
    print(f"built a history of {jobs} jobs x {per_job} trials in {time.perf_counter() - t:.1f} s")


def time_trends(url: str) -> None:
    store = open_store(url)
    try:
        runs = []
        for _ in range(5):
            t = time.perf_counter()
            with store.read() as conn:
                trends(conn)
                report = regressions(conn)
            runs.append(time.perf_counter() - t)
    finally:
        store.close()
    print(
        f"trends + regressions queries: median {statistics.median(runs):.3f} s "
        f"({len(report.tests)} tests, {len(report.flagged)} flagged)"
    )
    argv = [sys.executable, "-m", "opsbench.cli", "trends", "--database-url", url]
    subprocess.run(argv, check=True, capture_output=True, env=child_env())  # caches written
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=child_env())
        runs.append(time.perf_counter() - t)
    print(
        f"`opsbench trends` as a process (start-up included): median {statistics.median(runs):.2f} s"
    )


def child_env() -> dict[str, str]:
    """Processes as a user runs them: with bytecode caches (this workplace's shells set
    PYTHONDONTWRITEBYTECODE, which makes every start-up compile every module again)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def first_byte(host: str, port: int, path: str) -> float:
    with socket.create_connection((host, port), timeout=30) as sock:
        t = time.perf_counter()
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        sock.recv(1)
        elapsed = time.perf_counter() - t
        while sock.recv(65536):
            pass
    return elapsed


def time_view(url: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsbench.cli", "view", "--port", "0", "--database-url", url],
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    try:
        assert proc.stdout is not None
        match = re.search(r"http://([\d.]+):(\d+)/", proc.stdout.readline())
        assert match, "opsbench view did not start"
        host, port = match.group(1), int(match.group(2))
        first_byte(host, port, "/")  # warm up: templates compiled, pool filled
        pages = ("/", "/trends", "/regressions", "/variants/openai-gpt-a-low", "/jobs/1")
        for path in (*pages, "/jobs/1/trials/task-000__1"):
            runs = [first_byte(host, port, path) for _ in range(5)]
            print(f"view {path}: first byte median {statistics.median(runs) * 1000:.0f} ms")
        store = open_store(url)
        try:  # a store that changed: the next page recomputes from the store
            with store.write() as conn:
                conn.execute(
                    sa.update(jobs).where(jobs.c.id == 2).values(ingested_at=datetime.now(UTC))
                )
        finally:
            store.close()
        print(
            f"view / after an ingest (cache rebuilt): first byte {first_byte(host, port, '/') * 1000:.0f} ms"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--history", type=int, default=100_000)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, {load()} (figures on a busy machine are inflated)")
    with tempfile.TemporaryDirectory(prefix="opsbench-store-bench-") as tmp:
        job_dir = Path(tmp) / "bench-job"
        t = time.perf_counter()
        build_job(job_dir, args.trials, 5)
        (job_dir / "scenario_time.txt").write_text("2026-03-01T12:00:00Z\n")
        print(f"built a {args.trials}-trial job in {time.perf_counter() - t:.1f} s")
        server = None
        urls = {"SQLite": f"sqlite:///{tmp}/ingest.db"}
        if not args.skip_postgres:
            from tests.store.postgres import start_server

            server = start_server()
            urls["PostgreSQL"] = server.create_database("ingest_bench")
        try:
            for label, url in urls.items():
                time_ingest(label, url, job_dir)
            history = {"SQLite": f"sqlite:///{tmp}/history.db"}
            if server is not None:
                history["PostgreSQL"] = server.create_database("history_bench")
            for label, url in history.items():
                print(f"-- {label}")
                fill_history(open_store(url), args.jobs, args.history)
                time_trends(url)
                time_view(url)
            print(load())
        finally:
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
