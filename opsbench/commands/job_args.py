"""Arguments of `opsbench job` (kept apart so `--help` imports nothing heavy)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def default_concurrency() -> int:
    """Trials mostly wait on Docker and models; two per core, capped, is a safe default."""
    return max(1, min(8, (os.cpu_count() or 1) * 2))


def add_job_arguments(p: argparse.ArgumentParser) -> None:
    sel = p.add_argument_group("what to run")
    sel.add_argument(
        "--model", help="provider/model, e.g. openai/gpt-4o-mini or openrouter/org/model"
    )
    sel.add_argument(
        "--reasoning-effort",
        default="off",
        help="off (default), low, medium or high; refused when the model cannot honour it",
    )
    who = sel.add_mutually_exclusive_group()
    who.add_argument("--agent", help="built-in agent: sre (default), oracle, nop, random, scripted")
    who.add_argument("--agent-import-path", help="an agent class as module:Class")
    sel.add_argument(
        "--agent-kwarg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra agent setting (repeatable)",
    )
    sel.add_argument("--n-attempts", type=int, default=3, help="attempts per task (default 3)")
    sel.add_argument("--task-name", action="append", default=[], help="only this task (repeatable)")
    sel.add_argument(
        "--path",
        type=Path,
        help="another spec directory or spec file, or a Harbor task or dataset directory",
    )
    sel.add_argument(
        "--image-map",
        action="append",
        default=[],
        metavar="NAME=IMAGE",
        help="Harbor tasks: build FROM NAME with the local IMAGE instead (repeatable)",
    )
    sel.add_argument(
        "--image-map-file",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="NAME=IMAGE lines for --image-map (env OPSBENCH_IMAGE_MAP_FILE)",
    )
    where = p.add_argument_group("where")
    where.add_argument("--jobs-dir", type=Path, help="default: ./jobs")
    where.add_argument("--job-name", help="default: derived from the variant")
    run = p.add_argument_group("how")
    run.add_argument("--n-concurrent", type=int, default=default_concurrency())
    run.add_argument("--override-cpus", type=float)
    run.add_argument("--override-memory-mb", type=int)
    run.add_argument("--agent-timeout-multiplier", type=float, default=1.0)
    run.add_argument(
        "--judge-model",
        default=os.environ.get("OPSBENCH_JUDGE_MODEL"),
        help="LLM judge for rubric criteria (env OPSBENCH_JUDGE_MODEL)",
    )
    run.add_argument("--pause-file", type=Path, help="default: jobs/<job>/PAUSE")
    add_executor_arguments(run)
    prov = p.add_argument_group("model provider limits (saved in the job config)")
    prov.add_argument("--max-retries", type=int, help="retries per model call (default 6)")
    prov.add_argument("--min-request-interval", type=float, help="seconds between calls (0.1)")
    prov.add_argument("--rate-limit", metavar="N/SECONDS", help="calls per window (500/60)")
    prov.add_argument(
        "--failure-pause",
        metavar="K/SECONDS",
        help="after K consecutive failures pause this long (5/60)",
    )
    prov.add_argument("--api-base", help="OpenAI-compatible endpoint (else OPENAI_API_BASE)")
    run.add_argument("--dry-run", action="store_true", help="print the plan, touch nothing")
    run.add_argument("--quiet", action="store_true", help="no per-trial progress lines")


def add_executor_arguments(p: argparse._ActionsContainer) -> None:
    """`--executor local|ray` and `--ray-address`, shared by job, suite and validate."""
    p.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="where trials run: threads here (local, default) or a Ray cluster's nodes "
        "that advertise the `docker` resource (needs the `ray` extra)",
    )
    p.add_argument(
        "--ray-address",
        help="the Ray cluster (host:port of its head; default: RAY_ADDRESS, else 'auto')",
    )
