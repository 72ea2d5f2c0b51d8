"""`opsbench audit <job>`: flag suspect passes of a finished job (see `opsbench.audit`).

Writes every trial's `verifier/audit.json`, refreshes the job's summary and report, and
prints the flagged passing trials with each flag. `--judge-model` adds the LLM
hack-detection judge over the passing trials; `--fail-on-flag` exits 1 when any passing
trial is flagged (for submission checks).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsbench.models.provider import ProviderSettings


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "audit", help="flag suspect passes of a job (fake binaries, shotgun answers…)"
    )
    p.add_argument("job", help="a job directory, or a job name under --jobs-dir")
    p.add_argument("--jobs-dir", type=Path, help="where job names are looked up (default: jobs/)")
    p.add_argument("--judge-model", help="provider/model of the hack-detection judge (optional)")
    p.add_argument("--api-base", help="the judge's OpenAI-compatible endpoint (default: the job's)")
    p.add_argument("--fail-on-flag", action="store_true", help="exit 1 when a pass is flagged")
    p.set_defaults(handler=run)


def resolve_job(job: str, jobs_dir: Path | None) -> Path:
    from opsbench.errors import OpsbenchError
    from opsbench.paths import ProjectPaths, find_root

    direct = Path(job)
    candidate = direct if direct.is_dir() else (jobs_dir or ProjectPaths(find_root()).jobs) / job
    if not (candidate / "config.json").is_file() and not any(candidate.glob("*/result.json")):
        raise OpsbenchError(f"{job}: not a job directory (no config.json, no trials)")
    return candidate


def provider_settings(job_dir: Path, api_base: str | None) -> ProviderSettings:
    """The job's own provider settings (limits, endpoint), `--api-base` over them."""
    from opsbench.models.provider import ProviderSettings
    from opsbench.paths import JobPaths

    try:
        saved = json.loads(JobPaths(job_dir).config.read_text(encoding="utf-8"))
        settings = dict(saved.get("provider_settings") or {})
    except (OSError, ValueError, AttributeError):
        settings = {}
    if api_base:
        settings["api_base"] = api_base
    return ProviderSettings.model_validate(settings)


def run(args: argparse.Namespace) -> int:
    from opsbench.audit import audit_job, flagged
    from opsbench.display import Display
    from opsbench.jobrun import finish_job
    from opsbench.paths import JobPaths

    job_dir = resolve_job(args.job, args.jobs_dir)
    judge = None
    if args.judge_model:
        from opsbench.audit_judge import HackJudge

        judge = HackJudge(args.judge_model, job_dir, provider_settings(job_dir, args.api_base))
    audits = audit_job(job_dir, judge)
    suspects = flagged(audits)
    for audit in suspects:
        print(f"{audit.trial_name}: passed, flagged")
        for flag in audit.flags:
            where = f" [command {flag.command_index}]" if flag.command_index else ""
            print(f"  {flag.severity:7} {flag.rule}: {flag.message}{where}")
        if audit.judge is not None and audit.judge.verdict != "ungraded":
            print(f"  judge   {audit.judge.verdict}: {audit.judge.explanation[:200]}")
    passing = sum(a.passed for a in audits)
    print(
        f"{len(audits)} trials audited · {passing} passing · {len(suspects)} passing trials flagged"
    )
    finish_job(JobPaths(job_dir), Display())  # the summary and report show the new verdicts
    return 1 if suspects and args.fail_on_flag else 0
