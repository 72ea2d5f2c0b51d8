"""Fixtures every test directory shares (an isolated results store, one Chromium) and
how the suite is spread over processes.

`./opsbenchw test` runs the suite in two pytest-xdist workers. Much of it waits (a
verifier probing an alert pipeline, an engine outage, a Ray node declared dead, image
builds), so two at once on two cores finish in well under the time of one after the
other. A worker takes whole files (whole directories where a session fixture is costly,
`SHARED_SETUP`), so a module's Ray cluster or Harbor install is made once; the longest
file, the corpus calibration, starts first, and the installed-agent tests go last.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.reporting.report_browser import Chrome, chromium_binary

INSTALLED_AGENT_TESTS = "tests/agents/test_installed_agents.py"
FIRST = ("tests/corpus/test_calibration.py",)
"""Started first: the longest file (several minutes), so the rest fills the other worker."""
SHARED_SETUP = ("tests/submissions/", "tests/sidecar/", "tests/store/")
"""Directories whose session fixtures are costly (an oracle job, an o11y sidecar, a
PostgreSQL server): one worker runs each whole."""


def _unit(nodeid: str) -> str:
    """The unit of work one worker runs whole: a file, or a `SHARED_SETUP` directory."""
    path = nodeid.split("::", 1)[0]
    return next((shared for shared in SHARED_SETUP if path.startswith(shared)), path)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Whole files (or `SHARED_SETUP` directories) to a worker, in collection order."""
    from xdist.scheduler import LoadScopeScheduling

    class ByUnit(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return _unit(nodeid)

    config.option.loadscopereorder = False  # keep `pytest_collection_modifyitems`' order
    return ByUnit(config, log)


@pytest.hookimpl(trylast=True)  # after `-m` and `-k` have deselected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The calibration runs first; the installed-agent tests run last, and their images
    (the gateway, each CLI's install layer: minutes of downloads when cold) build in the
    background meanwhile (`tests/agents/warm.py`)."""
    first = [item for item in items if item.nodeid.startswith(FIRST)]
    late = [item for item in items if item.nodeid.startswith(INSTALLED_AGENT_TESTS)]
    placed = {id(item) for item in first + late}
    items[:] = first + [item for item in items if id(item) not in placed] + late
    if not late:
        return
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
