"""`setup:preflight` recognises the corrupted-network-store panic in the engine's log and
repairs it only for the engine the set-up started. On log fixtures and files in a
temporary directory: never on the real engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsbench.runtime import engine_doctor
from opsbench.runtime.engine_doctor import RepairRefused, diagnose, repair

FIXTURES = Path(__file__).parent / "fixtures"


def test_the_reservepools_panic_is_recognised_with_the_exact_repair(tmp_path: Path) -> None:
    store = tmp_path / "local-kv.db"
    found = diagnose(FIXTURES / "dockerd-reservepools-panic.log", store)

    assert found is not None
    assert "reservePools" in found.problem and str(store) in found.problem
    assert f"mv {store} {store}.corrupt-" in found.repair and "--repair" in found.repair


@pytest.mark.parametrize("name", ["dockerd-recovered.log", "missing.log"])
def test_no_diagnosis_when_the_latest_start_was_fine(name: str) -> None:
    assert diagnose(FIXTURES / name) is None


def test_repair_keeps_the_store_and_restarts_the_setup_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "local-kv.db"
    store.write_bytes(b"corrupt bolt db")
    pidfile = tmp_path / "dockerd.pid"
    pidfile.write_text("999999\n")  # the set-up's engine, dead after its panic
    monkeypatch.setattr(engine_doctor, "_dockerd_pids", set)
    found = diagnose(FIXTURES / "dockerd-reservepools-panic.log", store)
    assert found is not None
    restarts: list[bool] = []

    kept = repair(found, pidfile=pidfile, restart=lambda: restarts.append(True) or True)

    assert restarts == [True]
    assert not store.exists()
    assert kept.parent == tmp_path and kept.name.startswith("local-kv.db.corrupt-")
    assert kept.read_bytes() == b"corrupt bolt db"


@pytest.mark.parametrize("case", ["no-pidfile", "another-engine-running"])
def test_repair_refuses_an_engine_it_did_not_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    store = tmp_path / "local-kv.db"
    store.write_bytes(b"db")
    pidfile = tmp_path / "dockerd.pid"
    if case == "another-engine-running":
        pidfile.write_text("999999\n")
        monkeypatch.setattr(engine_doctor, "_dockerd_pids", lambda: {4242})
    found = diagnose(FIXTURES / "dockerd-reservepools-panic.log", store)
    assert found is not None

    with pytest.raises(RepairRefused, match="not started by"):
        repair(found, pidfile=pidfile, restart=lambda: pytest.fail("must not restart"))
    assert store.read_bytes() == b"db"


def test_preflight_prints_the_problem_and_the_repair_when_the_engine_is_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from opsbench.cli import main
    from opsbench.runtime.docker import client

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    monkeypatch.setattr(engine_doctor, "ENGINE_LOG", FIXTURES / "dockerd-reservepools-panic.log")
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    client.cache_clear()
    try:
        code = main(["preflight"])
    finally:
        client.cache_clear()

    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert "reservePools" in err and "repair: stop dockerd" in err
