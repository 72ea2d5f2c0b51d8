"""`comparison.html`: several jobs (variants) side by side.

A leaderboard with intervals, a variant × category heat map, a cost vs pass-rate scatter,
head-to-head wins and losses per task, and a per-task table whose cells link to each
job's own run report. Every number comes from `opsbench.metrics`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsbench import __version__
from opsbench.errors import OpsbenchError
from opsbench.metrics import (
    DiagnosticScores,
    HeadToHead,
    JobSummary,
    Scores,
    head_to_head,
    summarize_job,
)
from reporting import charts, fmt, ownership
from reporting.history import VariantHistory, histories
from reporting.load import JobArtifacts, config_value, job_dirs_in, load_job
from reporting.render import generated_at, render, write_page
from reporting.run_report import render_run_report

COMPARISON_FILE = "comparison.html"


@dataclass(frozen=True)
class VariantColumn:
    name: str
    model: str
    reasoning_effort: str
    agent: str
    summary: JobSummary
    report_href: str
    scenario_time: str
    history: VariantHistory | None = None
    """The variant's runs in the results store, when the store holds this job."""

    @property
    def scores(self) -> Scores:
        return self.summary.overall

    @property
    def cost_per_trial(self) -> float:
        return self.summary.usage.cost_usd.mean or 0.0


@dataclass(frozen=True)
class HeatCell:
    value: float | None
    text: str
    ci: str
    n: int
    colour: str
    ink: str


@dataclass(frozen=True)
class TaskCell:
    text: str
    value: float | None
    href: str
    best: bool
    diagnostics: str = ""
    """`evidence 50% · followed 1/3 · harmful 0/3 · invalid 2`, what applies."""


@dataclass(frozen=True)
class TaskLine:
    task_id: str
    category: str
    cells: list[TaskCell]
    spread: float


def write_comparison(
    jobs: Path | Sequence[Path],
    out: Path | None = None,
    *,
    build_reports: bool = True,
    force: bool = False,
) -> Path:
    """Write the comparison of some jobs and return its path.

    `jobs` is a suite directory (every job inside it; `out` defaults to
    `<suite>/comparison.html`) or a list of job directories (`out` defaults to a file
    named after those jobs in their common parent, so comparing two jobs of a suite never
    replaces the suite's own page). Each job's run report is rebuilt when `build_reports`
    is true, and built when missing in any case, so every link resolves. An existing page
    made from other inputs is never replaced unless `force`.
    """
    if isinstance(jobs, Path):
        job_dirs = job_dirs_in(jobs)
        target = out or jobs / COMPARISON_FILE
        inputs = ownership.suite_inputs(jobs)
    else:
        job_dirs = list(jobs)
        target = out or default_comparison_path(job_dirs)
        inputs = ownership.jobs_inputs(job_dirs)
    if not job_dirs:
        raise OpsbenchError(
            f"compare: no job directories{f' in {jobs}' if isinstance(jobs, Path) else ''}"
        )
    ownership.check_may_replace(target, inputs, force=force)
    loaded = []
    links = histories(job_dirs)
    for d in job_dirs:
        job = load_job(d)
        summary = summarize_job(job.results)
        if build_reports or not job.paths.report.is_file():
            render_run_report(job, summary, history=links.get(d.resolve()))
        loaded.append((job, summary))
    return write_comparison_of(loaded, target, links, inputs)


def default_comparison_path(job_dirs: Sequence[Path]) -> Path:
    """`comparison-<job>+<job>.html` in the jobs' common parent directory.

    Named after the (sorted) jobs, so the same comparison lands in the same file and a
    different one in another; a long list is named by a digest instead.
    """
    resolved = [j.resolve() for j in job_dirs]
    common = Path(os.path.commonpath(resolved))
    if common in resolved:
        common = common.parent
    names = "+".join(sorted(j.name for j in resolved))
    if len(names) > 120:
        names = hashlib.sha256(names.encode()).hexdigest()[:12]
    return common / f"comparison-{names}.html"


def write_comparison_of(
    loaded: Sequence[tuple[JobArtifacts, JobSummary]],
    out: Path,
    links: dict[Path, VariantHistory] | None = None,
    inputs: str = "",
) -> Path:
    links = histories([job.paths.dir for job, _ in loaded]) if links is None else links
    variants = [
        variant_of(job, summary, out, links.get(job.paths.dir.resolve())) for job, summary in loaded
    ]
    variants.sort(
        key=lambda v: (-(v.scores.passed.value or 0.0), -(v.scores.reward.value or 0.0), v.name)
    )
    html = render("comparison.html.j2", inputs=inputs, **comparison_context(variants, out))
    return write_page(out, html)


def variant_of(
    job: JobArtifacts, summary: JobSummary, out: Path, history: VariantHistory | None = None
) -> VariantColumn:
    cfg = job.config
    first = job.results[0].variant if job.results else None
    href = os.path.relpath(job.paths.report, out.parent).replace(os.sep, "/")
    return VariantColumn(
        name=job.paths.name,
        model=str(config_value(cfg, "model") or (first.model if first else None) or "–"),
        reasoning_effort=str(
            config_value(cfg, "reasoning_effort") or (first.reasoning_effort if first else "–")
        ),
        agent=str(config_value(cfg, "agent") or (first.agent if first else "–")),
        summary=summary,
        report_href=href,
        scenario_time=job.scenario_time,
        history=history,
    )


def comparison_context(variants: list[VariantColumn], out: Path) -> dict[str, Any]:
    categories = sorted({c for v in variants for c in v.summary.by_category})
    return {
        "title": out.parent.name or "comparison",
        "variants": variants,
        "categories": categories,
        "heat": [[heat_cell(v.summary.by_category.get(c)) for c in categories] for v in variants],
        "scatter": charts.scatter(
            [
                charts.ScatterInput(v.name, v.cost_per_trial, v.scores.passed, v.report_href)
                for v in variants
            ],
            x_title="mean cost per trial (USD)",
            y_title="pass rate (both gates)",
        ),
        "h2h": [
            [None if a is b else head_to_head(a.summary, b.summary) for b in variants]
            for a in variants
        ],
        "k_max": max((len(v.scores.at_k) for v in variants), default=0),
        "tasks": task_lines(variants),
        "clocks": sorted({v.scenario_time for v in variants if v.scenario_time}),
        "generated": generated_at(),
        "version": __version__,
    }


def heat_cell(scores: Scores | None) -> HeatCell:
    if scores is None or scores.trials == 0:
        return HeatCell(None, "–", "", 0, charts.heat_colour(None), "dark")
    p = scores.passed
    return HeatCell(
        p.value,
        fmt.pct(p.value, 0),
        fmt.interval_text(p),
        p.n,
        charts.heat_colour(p.value),
        charts.heat_ink(p.value),
    )


def task_lines(variants: list[VariantColumn]) -> list[TaskLine]:
    per_variant = [{t.task_id: t for t in v.summary.tasks} for v in variants]
    task_ids = sorted({t for m in per_variant for t in m})
    lines = []
    for task_id in task_ids:
        found = [m.get(task_id) for m in per_variant]
        rates = [t.scores.passed.value if t else None for t in found]
        known = [r for r in rates if r is not None]
        top = max(known) if known else None
        spread = (max(known) - min(known)) if known else 0.0
        cells = []
        for v, t, rate in zip(variants, found, rates, strict=True):
            text = (
                f"{t.scores.passed.successes}/{t.scores.trials}" if t and t.scores.trials else "–"
            )
            href = f"{v.report_href}#task={task_id}"
            best = rate is not None and rate == top and spread > 0
            diag = diagnostics_text(t.scores.diagnostics) if t else ""
            cells.append(TaskCell(text, rate, href, best, diag))
        category = next((t.category for t in found if t), "")
        lines.append(TaskLine(task_id, category, cells, spread))
    return lines


def diagnostics_text(d: DiagnosticScores) -> str:
    """A task's diagnostics in a few words, each only where it applies."""
    parts = []
    if d.evidence_coverage.value is not None:
        parts.append(f"evidence {fmt.pct(d.evidence_coverage.value, 0)}")
    if d.distractor_followed.n:
        parts.append(f"followed {d.distractor_followed.successes}/{d.distractor_followed.n}")
    if d.wrong_remediation.n:
        parts.append(f"harmful {d.wrong_remediation.successes}/{d.wrong_remediation.n}")
    if d.trials:
        parts.append(f"invalid {sum(d.invalid_by_kind.values())}")
    return " · ".join(parts)


def head_to_head_text(h: HeadToHead | None) -> str:
    return "" if h is None else f"{h.wins}–{h.losses}"
