"""`leaderboard.html` and `leaderboard.json`: every valid submission of a release, ranked.

Each package under the submissions directory is validated (`opsbench.submission`); valid
ones are ranked by pass rate (both gates) with Wilson intervals, with the task and
compliance gates, mean reward, cost per trial and a pass rate per category, all from
`opsbench.metrics`. Invalid ones are listed apart with the rules they failed. Each
submission's run report is rebuilt from its validated artifacts into the site (a
package's own HTML is never copied: it is the submitter's, not ours), so the site is
self-contained and opens offline.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsbench import __version__
from opsbench.metrics import JobSummary, Proportion, Scores, summarize_job
from opsbench.models.release import ReleaseManifest
from opsbench.models.submission import SubmissionMetadata
from opsbench.submission.load import METADATA_FILE, load_package
from opsbench.submission.validate import validate_package
from opsbench.submission.verdicts import ValidationReport
from reporting.collect import PendingDetails
from reporting.load import JobArtifacts, load_job
from reporting.render import generated_at, render, write_page
from reporting.run_report import run_report_context

LEADERBOARD_SCHEMA_VERSION = 1
HTML_FILE = "leaderboard.html"
JSON_FILE = "leaderboard.json"
REASONS_SHOWN = 5


@dataclass(frozen=True)
class Entry:
    name: str
    metadata: SubmissionMetadata
    summary: JobSummary
    report_hrefs: list[str]

    @property
    def scores(self) -> Scores:
        return self.summary.overall

    @property
    def cost_per_trial(self) -> float:
        return self.summary.usage.cost_usd.mean or 0.0

    def category(self, name: str) -> Proportion | None:
        s = self.summary.by_category.get(name)
        return s.passed if s else None


@dataclass(frozen=True)
class Rejected:
    name: str
    path: str
    reasons: list[str]


@dataclass(frozen=True)
class Leaderboard:
    html: Path
    json: Path
    entries: list[Entry]
    rejected: list[Rejected]


def find_packages(root: Path) -> list[Path]:
    """Directories holding `metadata.yaml` or job directories, not looked into further;
    symlinked directories are not followed."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        has_job = any((here / d / "config.json").is_file() for d in dirnames)
        if METADATA_FILE in filenames or (has_job and here != root):
            found.append(here)
            dirnames[:] = []
        else:
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
    return sorted(found)


def build_leaderboard(submissions: Path, out: Path, release: ReleaseManifest) -> Leaderboard:
    entries, rejected = [], []
    for path in find_packages(submissions):
        name = path.relative_to(submissions).as_posix()
        report = validate_package(path, release)
        if not report.passed:
            rejected.append(Rejected(name, str(path), reasons(report)))
            continue
        entries.append(_entry(name, path, out))
    entries.sort(
        key=lambda e: (-(e.scores.passed.value or 0.0), -(e.scores.reward.value or 0.0), e.name)
    )
    categories = sorted({t.category for t in release.tasks})
    context = {
        "release": release,
        "entries": entries,
        "rejected": rejected,
        "categories": categories,
        "generated": generated_at(),
        "version": __version__,
    }
    html = write_page(out / HTML_FILE, render("leaderboard.html.j2", **context))
    data = leaderboard_json(release, entries, rejected, categories)
    blob = out / JSON_FILE
    blob.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return Leaderboard(html, blob, entries, rejected)


def reasons(report: ValidationReport) -> list[str]:
    out = []
    for v in report.failures():
        first = "; ".join(f"{p.file}: {p.message}" for p in v.problems[:REASONS_SHOWN])
        more = len(v.problems) - REASONS_SHOWN
        out.append(f"{v.rule}: {first}" + (f" (and {more} more)" if more > 0 else ""))
    return out


def _entry(name: str, path: Path, out: Path) -> Entry:
    pkg = load_package(path)
    assert pkg.metadata.value is not None  # the package validated
    jobs = [load_job(path / job.name) for job in pkg.jobs]
    results = [r for job in jobs for r in job.results]
    hrefs = [_run_report(job, out, f"reports/{name}/{job.paths.name}") for job in jobs]
    return Entry(name, pkg.metadata.value, summarize_job(results), hrefs)


def _run_report(job: JobArtifacts, site: Path, rel_dir: str) -> str:
    """The job's run report rebuilt into the site at `rel_dir`; its href in the site."""
    with PendingDetails(job.trials) as pending:
        summary = summarize_job(job.results)
        details = pending.result()
    page = render("run_report.html.j2", **run_report_context(job, summary, details))
    href = f"{rel_dir}/run_report.html"
    write_page(site / href, page)
    return href


def leaderboard_json(
    release: ReleaseManifest,
    entries: list[Entry],
    rejected: list[Rejected],
    categories: list[str],
) -> dict[str, Any]:
    return {
        "schema_version": LEADERBOARD_SCHEMA_VERSION,
        "release": {
            "benchmark": release.benchmark,
            "version": release.version,
            "grader_version": release.grader_version,
            "tasks": len(release.tasks),
            "min_attempts": release.min_attempts,
        },
        "generated_by": f"opsbench {__version__}",
        "entries": [
            {
                "rank": rank,
                "package": e.name,
                "agent": e.metadata.agent.model_dump(mode="json"),
                "model": e.metadata.model.model_dump(mode="json"),
                "trials": e.summary.coverage.scored,
                "pass_rate": e.scores.passed.model_dump(mode="json"),
                "task_gate": e.scores.task_gate.model_dump(mode="json"),
                "compliance": e.scores.compliance.model_dump(mode="json"),
                "mean_reward": e.scores.reward.model_dump(mode="json"),
                "cost_per_trial_usd": e.cost_per_trial,
                "by_category": {
                    c: (p.model_dump(mode="json") if (p := e.category(c)) else None)
                    for c in categories
                },
                "run_reports": e.report_hrefs,
            }
            for rank, e in enumerate(entries, start=1)
        ],
        "invalid": [{"package": r.name, "reasons": r.reasons} for r in rejected],
    }
