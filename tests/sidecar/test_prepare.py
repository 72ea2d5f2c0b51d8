"""prepare_o11y: one backfill per (seed, clock) however many trials ask at once, and the
throwaway promtool container never outlives it."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from opsbench.o11y import O11yData, prepare_o11y
from opsbench.o11y import prepare as prepare_module
from opsbench.runtime.docker import LABEL_JOB, client
from tests.sidecar.conftest import CLOCK, JOB

pytestmark = pytest.mark.docker


def test_concurrent_callers_share_one_backfill(
    sidecar_image: str, job_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = prepare_module.backfill

    def counting(openmetrics: bytes, job: str) -> dict[str, bytes | None]:
        calls.append(len(openmetrics))
        assert job == JOB
        return real(openmetrics, job)

    monkeypatch.setattr(prepare_module, "backfill", counting)
    clock = CLOCK - timedelta(days=3, minutes=7)
    results: list[O11yData] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            results.append(prepare_o11y(job_cache, clock, seed=5))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(calls) == 1
    assert len({r.sidecar[0].data for r in results}) == 1
    assert len({r.main[0].data for r in results}) == 1
    assert prepare_o11y(job_cache, clock, seed=5) == results[0]
    assert len(calls) == 1
    entries = [p.name for p in (job_cache / "o11y").iterdir() if p.is_dir()]
    assert [e for e in entries if e.startswith(".")] == []  # no half-built leftovers
    left = client().containers.list(all=True, filters={"label": f"{LABEL_JOB}={JOB}"})
    assert [c.name for c in left if c.labels.get("opsbench.role") == "o11y-backfill"] == []


def test_the_key_follows_seed_and_clock() -> None:
    key = prepare_module.cache_key
    assert key(CLOCK, 0) == key(CLOCK, 0)
    assert key(CLOCK, 0) != key(CLOCK, 1)
    assert key(CLOCK, 0) != key(CLOCK + timedelta(seconds=1), 0)
    assert key(CLOCK, 0).startswith("20260314T093000Z-seed0-")
