"""One scenario clock per suite: the first job fixes it for every later variant."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from opsbench.clock import scenario_time


def test_the_first_job_of_a_suite_fixes_the_suite_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPSBENCH_SCENARIO_TIME", raising=False)
    suite = tmp_path / "scenario_time.txt"
    first = scenario_time(tmp_path / "a" / "scenario_time.txt", suite)
    assert suite.read_text().strip() == first.isoformat().replace("+00:00", "Z")
    suite.write_text("2026-01-02T03:04:00Z\n")  # as if the suite was started long ago
    later = scenario_time(tmp_path / "b" / "scenario_time.txt", suite)
    assert later == datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    assert scenario_time(tmp_path / "a" / "scenario_time.txt", suite) == first, (
        "a job keeps its own"
    )
