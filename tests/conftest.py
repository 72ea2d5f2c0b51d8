"""Suite-wide isolation: no test writes into the checkout's own results store."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


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
