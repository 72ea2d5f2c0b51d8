"""Fixtures for report tests: synthetic jobs on disk and a headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsbench.models.result import TrialResult
from tests.reporting.report_jobs import hand_made_specs, write_job


@pytest.fixture
def hand_job(tmp_path: Path) -> tuple[Path, list[TrialResult]]:
    """3 tasks x 3 attempts with known outcomes (see `report_jobs.hand_made_specs`)."""
    job_dir = tmp_path / "jobs" / "openai-gpt-test-low-k3"
    return job_dir, write_job(job_dir, hand_made_specs())
