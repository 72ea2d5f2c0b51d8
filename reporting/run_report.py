"""`jobs/<job>/run_report.html`: one job, built from its artifacts alone.

The page opens offline as a single file: a header naming the variant, the headline scores
with intervals, charts, the outcome breakdown, usage, a sortable task table and a
drill-down into every trial. Every number comes from `opsbench.metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsbench import __version__
from opsbench.failures import POLICY
from opsbench.metrics import JobSummary, summarize_job, trial_seconds, verdict
from opsbench.models.result import Outcome, TrialResult
from reporting import charts
from reporting.collect import PendingDetails
from reporting.history import VariantHistory, histories
from reporting.load import JobArtifacts, config_value, load_job
from reporting.render import generated_at, render, write_page

OUTCOME_LABELS = {
    Outcome.GRADED: "graded",
    Outcome.AGENT_ERROR: "agent error",
    Outcome.AGENT_TIMEOUT: "agent timeout",
    Outcome.PROVIDER_ERROR: "provider error",
    Outcome.INFRA_ERROR: "infrastructure error",
    Outcome.CANCELLED: "cancelled",
}

TRIAL_COLUMNS = (
    "name",
    "task",
    "attempt",
    "outcome",
    "scored",
    "passed",
    "task_gate",
    "compliance",
    "reward",
    "partial",
    "seconds",
    "cost",
    "input_tokens",
    "output_tokens",
    "coverage",
    "distractors_followed",
    "wrong_remediations",
    "invalid_actions",
)


@dataclass(frozen=True)
class MetaItem:
    label: str
    value: str


@dataclass(frozen=True)
class OutcomeRow:
    key: str
    label: str
    count: int
    share: float | None
    counts_in_scores: bool


def write_run_report(job_dir: Path) -> Path:
    """Render `run_report.html` for the job at `job_dir` and return its path."""
    from opsbench.audit import load_audits

    job = load_job(job_dir)
    with PendingDetails(job.trials) as details:
        summary = summarize_job(job.results, load_audits(job_dir))
        blob = details.result()
    history = histories([job_dir]).get(job_dir.resolve())
    return render_run_report(job, summary, blob, history)


def render_run_report(
    job: JobArtifacts,
    summary: JobSummary,
    details: dict[str, Any] | None = None,
    history: VariantHistory | None = None,
) -> Path:
    """Render an already loaded job (the comparison reuses what it loaded)."""
    if details is None:
        with PendingDetails(job.trials) as pending:
            details = pending.result()
    html = render("run_report.html.j2", **run_report_context(job, summary, details, history))
    return write_page(job.paths.report, html)


def run_report_context(
    job: JobArtifacts,
    summary: JobSummary,
    details: dict[str, Any],
    history: VariantHistory | None = None,
) -> dict[str, Any]:
    results = job.results
    return {
        "title": job.paths.name,
        "history": history,
        "meta": header_items(job),
        "summary": summary,
        "unfinished": job.unfinished,
        "outcomes": outcome_rows(summary),
        "outcome_bar": charts.stacked_bar(
            [(o.key, o.label, o.count) for o in outcome_rows(summary)]
        ),
        "category_chart": charts.bar_chart(
            "Pass rate by category",
            [(c, s.passed) for c, s in summary.by_category.items()],
        ),
        "difficulty_chart": charts.bar_chart(
            "Pass rate by difficulty",
            [(d, s.passed) for d, s in summary.by_difficulty.items()],
        ),
        "categories": sorted({t.category for t in summary.tasks}),
        "difficulties": list(summary.by_difficulty),
        "trials_blob": {"columns": TRIAL_COLUMNS, "rows": [trial_row(r) for r in results]},
        "details_blob": details,
        "generated": generated_at(),
        "version": __version__,
    }


def header_items(job: JobArtifacts) -> list[MetaItem]:
    """What the config and results say about the run; absent facts are left out."""
    cfg = job.config
    results = job.results
    variant = results[0].variant if results else None
    judge = config_value(cfg, "judge_model")
    if judge is None and isinstance(cfg.get("judge"), dict):
        judge = cfg["judge"].get("model")
    attempts = config_value(cfg, "n_attempts", "attempts", "k")
    if attempts is None and results:
        attempts = max(r.attempt for r in results)
    versions = sorted({r.opsbench_version for r in results if r.opsbench_version})
    pairs: list[tuple[str, Any]] = [
        ("Model", config_value(cfg, "model") or (variant.model if variant else None)),
        (
            "Reasoning effort",
            config_value(cfg, "reasoning_effort")
            or (variant.reasoning_effort if variant else None),
        ),
        ("Agent", config_value(cfg, "agent") or (variant.agent if variant else None)),
        ("Tasks", f"{len({r.task_id for r in results}):,}" if results else None),
        ("Attempts per task", attempts),
        ("Trials", f"{len(results) + len(job.unfinished):,}"),
        ("Scenario clock", job.scenario_time or config_value(cfg, "scenario_time")),
        ("Judge model", judge),
        (
            "Started",
            min(r.started_at for r in results).strftime("%Y-%m-%d %H:%M UTC") if results else None,
        ),
        (
            "Finished",
            max(r.finished_at for r in results).strftime("%Y-%m-%d %H:%M UTC") if results else None,
        ),
        ("opsbench version", ", ".join(versions) or config_value(cfg, "opsbench_version")),
    ]
    return [MetaItem(label, str(value)) for label, value in pairs if value not in (None, "")]


def outcome_rows(summary: JobSummary) -> list[OutcomeRow]:
    total = sum(summary.outcomes.values())
    return [
        OutcomeRow(
            key=o.value,
            label=OUTCOME_LABELS.get(o, o.value),
            count=summary.outcomes.get(o.value, 0),
            share=summary.outcomes.get(o.value, 0) / total if total else None,
            counts_in_scores=POLICY[o].counts_in_scores,
        )
        for o in Outcome
    ]


def trial_row(r: TrialResult) -> list[Any]:
    v = verdict(r)
    return [
        r.trial_name,
        r.task_id,
        r.attempt,
        r.outcome.value,
        v.scored,
        v.passed,
        v.task,
        v.compliance,
        round(v.reward, 4) if r.rewards is not None else None,
        v.partial,
        round(trial_seconds(r), 2),
        round(r.usage.cost_usd, 6),
        r.usage.input_tokens,
        r.usage.output_tokens,
        *diagnostic_cells(r),
    ]


def diagnostic_cells(r: TrialResult) -> list[Any]:
    """Coverage, distractors followed (names), wrong remediations and invalid actions;
    None where not applicable (no diagnostics recorded or declared)."""
    d = r.diagnostics
    if d is None:
        return [None, None, None, None]
    return [
        round(d.coverage.fraction, 4) if d.coverage else None,
        d.distractors_followed if d.distractors_declared else None,
        len(d.wrong_remediations or []) if d.harmful_declared else None,
        len(d.invalid_actions),
    ]
