"""The view's routes: jobs, trends, regressions, one job, one trial, a trial's files.

Every page is one request: it queries the store, renders a template and returns HTML.
Endpoints are plain functions (Starlette runs them in its thread pool) because the store
is reached through SQLAlchemy's synchronous engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from opsbench import __version__
from opsbench.store import browse
from opsbench.store.engine import Store, display_url
from opsbench.store.trends import Filters, load_history, regressions, regressions_of, trends_of
from reporting.render import render
from reporting.view.artifacts import read_trial
from reporting.view.chart import trend_chart

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def variant_path(variant: str) -> str:
    return "/variants/" + quote(variant, safe="")


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = render(
        f"view/{template}",
        version=__version__,
        store_url=display_url(_store(request).url),
        variant_path=variant_path,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _filters(request: Request, variant: str | None = None) -> Filters:
    q = request.query_params
    return Filters(
        variant or q.get("variant") or None, q.get("category") or None, q.get("task") or None
    )


def home(request: Request) -> Response:
    with _store(request).read() as conn:
        lines = browse.job_lines(conn)
        report = regressions_of(load_history(conn))
    return _page(request, "jobs.html.j2", title="Jobs", jobs=lines, flagged=report.flagged)


def trends_page(request: Request, variant: str | None = None) -> Response:
    f = _filters(request, variant)
    with _store(request).read() as conn:
        found = trends_of(load_history(conn, f))
        options = browse.variants(conn)
        cats = browse.categories(conn)
        jobs = browse.job_lines(conn, variant=f.variant) if f.variant else []
    return _page(
        request,
        "trends.html.j2",
        title=f"History of {f.variant}" if variant else "Trends",
        filters=f,
        charts=[(t, trend_chart(t)) for t in found],
        variants=options,
        categories=cats,
        jobs=jobs,
    )


def variant_page(request: Request) -> Response:
    return trends_page(request, request.path_params["variant"])


def regressions_page(request: Request) -> Response:
    q = request.query_params
    try:
        recent, baseline = int(q.get("recent", 5)), int(q.get("baseline", 20))
        alpha = float(q.get("alpha", 0.05))
    except ValueError:
        raise HTTPException(400, "recent, baseline: integers; alpha: a number") from None
    if recent < 1 or baseline < 1 or not 0 < alpha < 1:
        raise HTTPException(400, "recent and baseline at least 1, alpha in (0, 1)")
    with _store(request).read() as conn:
        report = regressions(conn, _filters(request), recent=recent, baseline=baseline, alpha=alpha)
    return _page(request, "regressions.html.j2", title="Regressions", report=report)


def job_page(request: Request) -> Response:
    job_id = request.path_params["job_id"]
    with _store(request).read() as conn:
        job = browse.job_row(conn, job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id} in the store")
        (line,) = browse.job_lines(conn, job_id=job_id)
        rows = browse.job_trials(conn, job_id)
    on_disk = bool(job.path) and Path(job.path).is_dir()
    return _page(
        request,
        "job.html.j2",
        title=job.name,
        job=job,
        line=line,
        trials=rows,
        on_disk=on_disk,
        has_report=on_disk and (Path(job.path) / "run_report.html").is_file(),
    )


def trial_page(request: Request) -> Response:
    job_id, name = request.path_params["job_id"], request.path_params["trial"]
    with _store(request).read() as conn:
        job = browse.job_row(conn, job_id)
        trial = browse.trial_row(conn, job_id, name) if job else None
        if job is None or trial is None:
            raise HTTPException(404, f"no trial {name!r} in job {job_id}")
        graded = browse.trial_gradings(conn, trial.id)
    return _page(
        request,
        "trial.html.j2",
        title=name,
        job=job,
        trial=trial,
        gradings=graded,
        artifacts=read_trial(job.path, name),
    )


def job_file(request: Request) -> Response:
    """A file of the job's directory: the run report as HTML, anything else as text (an
    agent wrote some of it)."""
    job_id, rel = request.path_params["job_id"], request.path_params["path"]
    with _store(request).read() as conn:
        job = browse.job_row(conn, job_id)
    if job is None or not job.path:
        raise HTTPException(404, "no such job on this machine")
    root = Path(job.path).resolve()
    target = (root / rel).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise HTTPException(404, "no such file in the job directory")
    if target == root / "run_report.html":
        return FileResponse(target, media_type="text/html")
    return FileResponse(target, media_type="text/plain; charset=utf-8", headers=SECURITY_HEADERS)


def error_page(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
    return _page(request, "error.html.j2", status=status, title=f"{status}", detail=detail)


def create_app(store: Store) -> Starlette:
    app = Starlette(
        routes=[
            Route("/", home),
            Route("/trends", trends_page),
            Route("/variants/{variant:path}", variant_page),
            Route("/regressions", regressions_page),
            Route("/jobs/{job_id:int}", job_page),
            Route("/jobs/{job_id:int}/trials/{trial}", trial_page),
            Route("/jobs/{job_id:int}/files/{path:path}", job_file),
        ],
        exception_handlers={HTTPException: error_page},
    )
    app.state.store = store
    return app
