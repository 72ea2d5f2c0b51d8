"""The view's routes: jobs, trends, regressions, one job, one trial, a trial's files.

Every page is one request: it queries the store, renders a template and returns HTML.
Endpoints are plain functions (Starlette runs them in its thread pool) because the store
is reached through SQLAlchemy's synchronous engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from sqlalchemy.engine import Connection
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from opsbench import __version__
from opsbench.store import browse
from opsbench.store.engine import Store, display_url
from opsbench.store.trends import (
    Filters,
    History,
    RegressionReport,
    load_history,
    regressions_of,
    trends_of,
)
from reporting.render import render
from reporting.view.artifacts import read_trial
from reporting.view.chart import trend_chart

T = TypeVar("T")
EVERYTHING = Filters()
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def variant_path(variant: str) -> str:
    return "/variants/" + quote(variant, safe="")


class StoreCache:
    """Values computed from the store (histories, regression reports), kept while the
    store is unchanged (its stamp: the job count and the last ingest time), so a page
    costs one small query when nothing was ingested since it was last computed."""

    MAX_ENTRIES = 64

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: tuple[int, str] | None = None
        self._entries: dict[Hashable, Any] = {}

    def value(self, conn: Connection, key: Hashable, compute: Callable[[], T]) -> T:
        stamp = browse.store_stamp(conn)
        with self._lock:
            if stamp != self._stamp:
                self._stamp, self._entries = stamp, {}
            if key in self._entries:
                found: T = self._entries[key]
                return found
        value = compute()
        with self._lock:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = value
        return value


def _history(request: Request, conn: Connection, filters: Filters = EVERYTHING) -> History:
    cache: StoreCache = request.app.state.cache
    return cache.value(conn, ("history", filters), lambda: load_history(conn, filters))


def _regressions(
    request: Request, conn: Connection, filters: Filters, recent: int, baseline: int, alpha: float
) -> RegressionReport:
    cache: StoreCache = request.app.state.cache
    history = _history(request, conn, filters)
    return cache.value(
        conn,
        ("regressions", filters, recent, baseline, alpha),
        lambda: regressions_of(history, recent=recent, baseline=baseline, alpha=alpha),
    )


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
        history = _history(request, conn)
        report = _regressions(request, conn, EVERYTHING, 5, 20, 0.05)
    lines = browse.job_lines(history)
    return _page(request, "jobs.html.j2", title="Jobs", jobs=lines, flagged=report.flagged)


def trends_page(request: Request, variant: str | None = None) -> Response:
    f = _filters(request, variant)
    with _store(request).read() as conn:
        everything = _history(request, conn)
        history = _history(request, conn, f) if f != EVERYTHING else everything
    found = trends_of(history)
    options, cats = browse.variants(everything), browse.categories(everything)
    jobs = browse.job_lines(everything, variant=f.variant) if f.variant else []
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
        report = _regressions(request, conn, _filters(request), recent, baseline, alpha)
    return _page(request, "regressions.html.j2", title="Regressions", report=report)


def job_page(request: Request) -> Response:
    job_id = request.path_params["job_id"]
    with _store(request).read() as conn:
        job = browse.job_row(conn, job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id} in the store")
        lines = browse.job_lines(_history(request, conn))
        rows = browse.job_trials(conn, job_id)
    line = next(x for x in lines if x.id == job_id)
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
    app.state.cache = StoreCache()
    with store.read() as conn:  # the first page is served from a warm cache
        app.state.cache.value(conn, ("history", EVERYTHING), lambda: load_history(conn))
    return app
