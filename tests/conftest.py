"""Fixtures every test directory shares: an isolated results store, one Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.reporting.report_browser import Chrome, chromium_binary

INSTALLED_AGENT_TESTS = "tests/agents/test_installed_agents.py"


@pytest.hookimpl(trylast=True)  # after `-m` and `-k` have deselected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The installed-agent tests run last, and their images (the gateway, each CLI's
    install layer: minutes of downloads when cold) build in the background meanwhile
    (`tests/agents/warm.py`)."""
    late = [item for item in items if item.nodeid.startswith(INSTALLED_AGENT_TESTS)]
    if not late:
        return
    items[:] = [item for item in items if item not in late] + late
    from tests.agents import warm

    agents = {
        str(item.callspec.params["agent"])
        for item in late
        if hasattr(item, "callspec") and "agent" in item.callspec.params
    }
    warm.start(sorted(agents))


@pytest.fixture(scope="session", autouse=True)
def _isolated_results_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Jobs the tests run are ingested at their end into a store of the session's own
    (store tests point OPSBENCH_DATABASE_URL at their own database on top of this)."""
    saved = os.environ.get("OPSBENCH_DATABASE_URL")
    path = tmp_path_factory.mktemp("store") / "results.db"
    os.environ["OPSBENCH_DATABASE_URL"] = f"sqlite:///{path}"
    yield
    if saved is None:
        os.environ.pop("OPSBENCH_DATABASE_URL", None)
    else:
        os.environ["OPSBENCH_DATABASE_URL"] = saved


@pytest.fixture(scope="module")
def chrome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chrome]:
    """Headless Chromium for the page tests; in CI a missing browser fails, never skips."""
    if chromium_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (the set-up script installs Debian's chromium)")
        pytest.skip("chromium is not installed: apt-get install -y chromium")
    browser = Chrome(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield browser
    finally:
        browser.close()
