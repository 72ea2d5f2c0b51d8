"""One builder for `JobConfig`, used by `opsbench job`, `opsbench suite` and `validate`.

Flags become a `JobRequest` (`request_from_args`), a suite file gives one per variant
(`Suite.requests`); `build_job_config` turns either into the config a run saves. It is
also where a variant that cannot be honoured is refused — an unknown agent, the `sre`
agent without a model, a reasoning effort the model does not support — before any trial
starts and in a dry run too, so such a job never fills with `provider_error`s that
resume would rerun forever. Validation errors all go through `opsbench.validation`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from pydantic import ValidationError

from opsbench import __version__
from opsbench.errors import OpsbenchError, SpecError, SpecIssue
from opsbench.models.job import DEFAULT_AGENT, JobConfig, JobRequest, Variant
from opsbench.validation import validation_issues

PROVIDER_FLAGS = ("max_retries", "min_request_interval", "rate_limit", "failure_pause", "api_base")
"""`ProviderSettings` fields that have a command-line flag of the same name."""

_FLAG_OF_FIELD = {"agent_kwargs": "--agent-kwarg", "task_names": "--task-name"}


def flag_name(path: str) -> str:
    """`provider.rate_limit` -> `--rate-limit`, `n_attempts` -> `--n-attempts`."""
    parts = path.split("[")[0].split(".")
    name = parts[1] if parts[0] == "provider" and len(parts) > 1 else parts[0]
    return _FLAG_OF_FIELD.get(name, "--" + name.replace("_", "-"))


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


def request_from_args(args: argparse.Namespace) -> JobRequest:
    """The flags of `opsbench job` as a request; a bad value names its flag."""
    data: dict[str, Any] = {
        "model": args.model,
        "reasoning_effort": args.reasoning_effort,
        "agent": args.agent_import_path or args.agent or DEFAULT_AGENT,
        "agent_kwargs": parse_kwargs(args.agent_kwarg),
        "n_attempts": args.n_attempts,
        "task_names": list(args.task_name),
        "override_cpus": args.override_cpus,
        "override_memory_mb": args.override_memory_mb,
        "agent_timeout_multiplier": args.agent_timeout_multiplier,
        "judge_model": args.judge_model,
        "job_name": args.job_name,
        "n_concurrent": args.n_concurrent,
        "provider": {n: getattr(args, n) for n in PROVIDER_FLAGS if getattr(args, n) is not None},
    }
    return validate_request(data, "")


def validate_request(data: dict[str, Any], where: str) -> JobRequest:
    """`data` as a `JobRequest`; errors name flags (`where` empty) or file fields."""
    try:
        return JobRequest.model_validate(data)
    except ValidationError as exc:
        rename = flag_name if not where else None
        raise SpecError(validation_issues(exc, where, data, JobRequest, rename)) from None


def build_job_config(request: JobRequest, where: str = "") -> JobConfig:
    """The config a run saves for `request`, or an error naming what cannot be honoured.

    `where` names the input for error lines: empty for flags, else the suite file (and
    variant) the request came from.
    """
    from opsbench.agent import resolve_agent

    if request.agent == DEFAULT_AGENT and not request.model:
        raise OpsbenchError(
            _prefix(where)
            + "the default agent (sre) needs a model: pass --model provider/model (e.g. "
            "openai/gpt-4o-mini with OPENAI_API_KEY set; OPENAI_API_BASE for any "
            "OpenAI-compatible server), or --agent oracle / nop to run without one"
        )
    try:
        agent_cls = resolve_agent(request.agent)  # an unknown name fails now
    except OpsbenchError as exc:
        raise OpsbenchError(_prefix(where) + str(exc)) from None
    if agent_cls.interactive:
        raise OpsbenchError(
            _prefix(where) + f"the {request.agent} agent is a person at a terminal, not "
            "something a job can run: use `opsbench shell TASK` to record a human trial"
        )
    variant = Variant(
        model=request.model,
        reasoning_effort=request.reasoning_effort,
        agent=request.agent,
        n_attempts=request.n_attempts,
    )
    try:
        agent_cls.check_variant(request.model, request.reasoning_effort, request.agent_kwargs)
    except OpsbenchError as exc:
        raise OpsbenchError(_prefix(where) + f"agent {request.agent}: {exc}") from None
    refuse_unhonourable(request, where)
    return JobConfig(
        job_name=request.job_name or variant.job_name(),
        variant=variant,
        agent_kwargs=request.agent_kwargs,
        override_cpus=request.override_cpus,
        override_memory_mb=request.override_memory_mb,
        agent_timeout_multiplier=request.agent_timeout_multiplier,
        judge_model=request.judge_model,
        seed=request.seed,
        provider_settings=request.provider,
        n_concurrent=request.n_concurrent,
        task_names=request.task_names,
        opsbench_version=__version__,
    )


def refuse_unhonourable(request: JobRequest, where: str) -> None:
    """A model/effort pair the provider layer would refuse at the first call is refused
    here instead. Loads LiteLLM's model map, so only when a model is named."""
    if not request.model:
        return
    from opsbench.providers.client import check_model
    from opsbench.providers.errors import UnsupportedReasoningEffort

    try:
        check_model(request.model, request.reasoning_effort, request.provider)
    except UnsupportedReasoningEffort as exc:
        field = "reasoning_effort" if where else "--reasoning-effort"
        raise SpecError([SpecIssue(where, field, f"cannot be honoured: {exc}")]) from None


def _prefix(where: str) -> str:
    return f"{where}: " if where else ""
