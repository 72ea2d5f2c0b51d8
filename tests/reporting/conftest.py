"""Fixtures for report tests: synthetic jobs on disk and a headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbench.models.result import TrialResult
from tests.reporting.report_browser import Chrome, chromium_binary
from tests.reporting.report_jobs import hand_made_specs, write_job


@pytest.fixture
def hand_job(tmp_path: Path) -> tuple[Path, list[TrialResult]]:
    """3 tasks x 3 attempts with known outcomes (see `report_jobs.hand_made_specs`)."""
    job_dir = tmp_path / "jobs" / "openai-gpt-test-low-k3"
    return job_dir, write_job(job_dir, hand_made_specs())


@pytest.fixture(scope="module")
def chrome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chrome]:
    if chromium_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (the set-up script installs Debian's chromium)")
        pytest.skip("chromium is not installed: apt-get install -y chromium")
    browser = Chrome(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield browser
    finally:
        browser.close()
