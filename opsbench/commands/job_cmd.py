"""`opsbench job`: compile, plan (resume), run and summarise one variant."""

from __future__ import annotations

import argparse
import json
from typing import Any

from opsbench import __version__, joblock
from opsbench.errors import OpsbenchError
from opsbench.models.job import JobConfig, Variant
from opsbench.paths import JobPaths, ProjectPaths, find_root


def parse_kwargs(pairs: list[str]) -> dict[str, Any]:
    """`key=value` pairs; values parse as JSON when they can (numbers, lists, objects)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise OpsbenchError(f"--agent-kwarg: KEY=VALUE, found {pair!r}")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def make_variant(model: str | None, effort: str, agent: str, attempts: int) -> Variant:
    from pydantic import ValidationError

    try:
        return Variant(model=model, reasoning_effort=effort, agent=agent, n_attempts=attempts)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]).replace("_", "-")
        raise OpsbenchError(f"--{field}: {err['msg'].removeprefix('Value error, ')}") from None


def provider_settings(args: argparse.Namespace, model: Any) -> dict[str, Any]:
    """Only the limits the user set: defaults stay defaults (and resumes stay compatible)."""
    from pydantic import ValidationError

    names = ("max_retries", "min_request_interval", "rate_limit", "failure_pause", "api_base")
    given = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    try:
        model.model_validate(given)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]).replace("_", "-") if err["loc"] else "provider"
        raise OpsbenchError(f"--{field}: {err['msg'].removeprefix('Value error, ')}") from None
    return given


def build_config(args: argparse.Namespace) -> JobConfig:
    from opsbench.agent import resolve_agent
    from opsbench.models.provider import ProviderSettings

    agent = args.agent_import_path or args.agent or "sre"
    variant = make_variant(args.model, args.reasoning_effort, agent, args.n_attempts)
    if agent == "sre" and not args.model:
        raise OpsbenchError(
            "the default agent (sre) needs a model: pass --model provider/model (e.g. "
            "openai/gpt-4o-mini with OPENAI_API_KEY set; OPENAI_API_BASE for any "
            "OpenAI-compatible server), or --agent oracle / nop to run without one"
        )
    resolve_agent(agent)  # unknown names fail now, listing the built-ins
    provider = provider_settings(args, ProviderSettings)
    return JobConfig(
        job_name=args.job_name or variant.job_name(),
        variant=variant,
        agent_kwargs=parse_kwargs(args.agent_kwarg),
        override_cpus=args.override_cpus,
        override_memory_mb=args.override_memory_mb,
        agent_timeout_multiplier=args.agent_timeout_multiplier,
        judge_model=args.judge_model,
        provider_settings=provider,
        n_concurrent=args.n_concurrent,
        task_names=list(args.task_name),
        opsbench_version=__version__,
    )


@joblock.holding
def run(args: argparse.Namespace) -> int:
    from opsbench.jobrun import (
        announce_clock,
        apply_setup,
        compile_and_select,
        execute,
        print_plan,
        setup_job,
    )

    paths = ProjectPaths(find_root())
    config = build_config(args)
    job = JobPaths((args.jobs_dir or paths.jobs) / config.job_name)
    tasks, checksums = compile_and_select(
        paths, list(args.task_name), args.path, write=not args.dry_run
    )
    if not args.dry_run:
        joblock.take(job.dir, "job")  # before planning: another run may be mid-trial
    setup = setup_job(config, job, tasks, checksums)
    print_plan(setup, args.dry_run)
    if args.dry_run:
        return 0
    apply_setup(setup)
    announce_clock(setup)
    return execute([setup], config.n_concurrent, args.pause_file, args.quiet)
