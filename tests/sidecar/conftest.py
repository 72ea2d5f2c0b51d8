"""Fixtures for the o11y sidecar: generated telemetry, the image, prepared data, and a
running sidecar container that is always removed, whatever the test did."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from opsbench.o11y import LOGS_PORT, PROMETHEUS_PORT, SIDECAR_IMAGE, O11yData, prepare_o11y, render
from opsbench.o11y.model import Telemetry
from opsbench.o11y.telemetry import generate

REPO = Path(__file__).resolve().parents[2]
CLOCK = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
JOB = "pytest-o11y"


@dataclass(frozen=True)
class Rendered:
    openmetrics: bytes
    logs: dict[str, bytes]


@pytest.fixture(scope="session")
def telemetry() -> Telemetry:
    return generate(0, CLOCK)


@pytest.fixture(scope="session")
def rendered(telemetry: Telemetry) -> Rendered:
    return Rendered(render.openmetrics(telemetry), render.logs(telemetry))


@pytest.fixture(scope="session")
def sidecar_image() -> str:
    """The sidecar image (preflight normally built it already: then this is instant)."""
    from opsbench.runtime.images import (
        ensure_sidecars,
        ensure_task_base,
        ensure_upstream_base,
        ensure_verifier,
        resolve_ca_bundle,
    )

    ensure_upstream_base()
    ensure_task_base(REPO / "environment", resolve_ca_bundle(None))
    ensure_sidecars(REPO / "environment")
    ensure_verifier(REPO / "environment")
    return SIDECAR_IMAGE


@pytest.fixture(scope="session")
def job_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`jobs/<JOB>/.cache` of a throwaway job; afterwards, nothing of JOB may be left running."""
    cache = tmp_path_factory.mktemp("jobs") / JOB / ".cache"
    yield cache
    from opsbench.runtime.docker import LABEL_JOB, client

    left = client().containers.list(all=True, filters={"label": f"{LABEL_JOB}={JOB}"})
    for container in left:
        container.remove(force=True)
    assert not left, f"containers left behind: {[c.name for c in left]}"


@pytest.fixture(scope="session")
def o11y_data(sidecar_image: str, job_cache: Path) -> O11yData:
    return prepare_o11y(job_cache, CLOCK)


@dataclass(frozen=True)
class Sidecar:
    container: Any
    prometheus: str
    logs: str

    def query(self, promql: str, when: datetime) -> list[dict[str, Any]]:
        return self._api("query", query=promql, time=str(when.timestamp()))

    def query_range(
        self, promql: str, start: datetime, end: datetime, step: str
    ) -> list[dict[str, Any]]:
        params = {"start": str(start.timestamp()), "end": str(end.timestamp()), "step": step}
        return self._api("query_range", query=promql, **params)

    def _api(self, endpoint: str, **params: str) -> list[dict[str, Any]]:
        url = f"{self.prometheus}/api/v1/{endpoint}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = json.load(resp)
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def get_logs(self, path: str) -> str:
        with urllib.request.urlopen(f"{self.logs}{path}", timeout=10) as resp:
            text: str = resp.read().decode()
            return text


def wait_healthy(container: Any, timeout: float = 60) -> float:
    """Seconds until Docker reports the container healthy; fails with its logs otherwise."""
    start = time.monotonic()
    while True:
        container.reload()
        state = container.attrs["State"]
        if (state.get("Health") or {}).get("Status") == "healthy":
            return time.monotonic() - start
        if not state["Running"] or time.monotonic() - start > timeout:
            health = json.dumps(state.get("Health"), indent=1)[-2000:]
            logs = container.logs().decode(errors="replace")[-2000:]
            pytest.fail(f"sidecar not healthy: {state['Status']}\n{health}\n{logs}")
        time.sleep(0.02)


def start_sidecar(data: O11yData, trial: str) -> Any:
    """A created, filled and started sidecar container (the caller removes it)."""
    from opsbench.runtime.docker import client, labels

    container = client().containers.create(
        SIDECAR_IMAGE,
        labels=labels(JOB, trial, "sidecar:o11y"),
        ports={
            f"{PROMETHEUS_PORT}/tcp": ("127.0.0.1", None),
            f"{LOGS_PORT}/tcp": ("127.0.0.1", None),
        },
    )
    try:
        for archive in data.sidecar:
            assert container.put_archive(archive.path, archive.data)
        container.start()
    except BaseException:
        container.remove(force=True)
        raise
    return container


@pytest.fixture(scope="module")
def sidecar(o11y_data: O11yData) -> Iterator[Sidecar]:
    container = start_sidecar(o11y_data, "sidecar-tests")
    try:
        wait_healthy(container)
        ports = container.attrs["NetworkSettings"]["Ports"]
        prom = ports[f"{PROMETHEUS_PORT}/tcp"][0]["HostPort"]
        logs = ports[f"{LOGS_PORT}/tcp"][0]["HostPort"]
        yield Sidecar(container, f"http://127.0.0.1:{prom}", f"http://127.0.0.1:{logs}")
    finally:
        container.remove(force=True)
