"""Collect every trial's drill-down data, in worker processes for large jobs.

Reading and trimming the artifacts of thousands of trials is the slowest part of a
report, and trials are independent: above `PARALLEL_MIN` trials the work is split into
chunks for a process pool, which runs while the caller computes the metrics. Each chunk
interns its own instructions; the results are merged in trial order, so the output is the
same as the serial path's.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from reporting.drilldown import (
    TRIAL_FILES,
    Budget,
    InstructionTable,
    TrialFacts,
    instruction_cap,
    trial_budget,
    trial_detail,
)
from reporting.load import LoadedTrial

PARALLEL_MIN = 1500
MAX_WORKERS = 4

Chunk = tuple[list[str], list[dict[str, Any]]]


@dataclass(frozen=True)
class Limits:
    share: int
    instruction_cap: int


def limits_for(trials: Sequence[LoadedTrial]) -> Limits:
    tasks = {t.result.task_id for t in trials}
    return Limits(trial_budget(len(trials)), instruction_cap(len(tasks)))


def details_chunk(items: list[tuple[str, TrialFacts]], limits: Limits) -> Chunk:
    """Drill-down data of some trials, with instructions indexed into the chunk's table."""
    table = InstructionTable(cap=limits.instruction_cap)
    details = [trial_detail(d, facts, table, Budget(limits.share)) for d, facts in items]
    return table.texts, details


def merge(chunks: Sequence[Chunk]) -> dict[str, Any]:
    texts: list[str] = []
    index: dict[str, int] = {}
    details: list[dict[str, Any]] = []
    for chunk_texts, chunk_details in chunks:
        remap = []
        for text in chunk_texts:
            if text not in index:
                index[text] = len(texts)
                texts.append(text)
            remap.append(index[text])
        for d in chunk_details:
            if d.get("ins") is not None:
                d["ins"] = remap[d["ins"]]
            details.append(d)
    return {"files": TRIAL_FILES, "instructions": texts, "details": details}


class PendingDetails:
    """Starts collecting on construction; `result()` returns the embedded blob."""

    def __init__(self, trials: Sequence[LoadedTrial], workers: int | None = None) -> None:
        self.items = [(str(t.paths.dir), TrialFacts.of(t.result)) for t in trials]
        self.limits = limits_for(trials)
        cpus = os.cpu_count() or 1
        n = min(MAX_WORKERS, cpus) if workers is None else workers
        self.pool: ProcessPoolExecutor | None = None
        self.futures: list[Future[Chunk]] = []
        if n > 1 and len(self.items) >= PARALLEL_MIN:
            self._start(n)

    def _start(self, workers: int) -> None:
        try:
            self.pool = ProcessPoolExecutor(max_workers=workers)
        except (OSError, NotImplementedError):
            return
        size = -(-len(self.items) // (workers * 2))
        self.futures = [
            self.pool.submit(details_chunk, self.items[i : i + size], self.limits)
            for i in range(0, len(self.items), size)
        ]

    def result(self) -> dict[str, Any]:
        if not self.futures:
            return merge([details_chunk(self.items, self.limits)])
        return merge([f.result() for f in self.futures])

    def __enter__(self) -> PendingDetails:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
