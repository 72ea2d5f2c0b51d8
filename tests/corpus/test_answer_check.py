"""The `answer` check: a number in the final answer against PromQL, a command or a constant.

Commands run through a real shell (the in-container path), and PromQL goes to a local
HTTP server speaking Prometheus' query API, so the check's own probe code is exercised.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from grading.checks import CheckContext, ExecResult, run_check
from opsbench.models.spec import AnswerCheck, TaskSpec


def _shell(command: str, user: str, timeout: float) -> ExecResult:
    proc = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=timeout, check=False
    )
    return ExecResult(proc.returncode, proc.stdout, proc.stderr)


def _check(**fields: Any) -> AnswerCheck:
    """A check as the grader sees it: the spec's validated model."""
    return AnswerCheck.model_validate({"kind": "answer", "name": "n", **fields})


def _ctx(answer: str, **kw: Any) -> CheckContext:
    return CheckContext(exec=_shell, final_answer=answer, **kw)


# --------------------------------------------------------------------------- the model


@pytest.mark.parametrize("pattern", [r"P95: [0-9.]+", r"(P95): ([0-9.]+)"])
def test_pattern_needs_exactly_one_group(pattern: str) -> None:
    with pytest.raises(ValidationError, match="exactly one capture group"):
        AnswerCheck.model_validate({"kind": "answer", "name": "n", "pattern": pattern, "value": 1})


@pytest.mark.parametrize(
    "sources",
    [{}, {"value": 1, "run": "echo 1"}, {"query": "up", "value": 2}],
)
def test_exactly_one_source(sources: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="exactly one of `query`, `run`, `value`"):
        AnswerCheck.model_validate({"kind": "answer", "name": "n", "pattern": "(.*)", **sources})


def test_bad_promql_fails_at_load() -> None:
    with pytest.raises(ValidationError, match="valid PromQL"):
        _check(pattern=r"X: (\d+)", query="sum(rate(x[5m])")


def test_query_source_needs_the_o11y_sidecar() -> None:
    spec = {
        "id": "needs-sidecar",
        "title": "t",
        "category": "metrics",
        "difficulty": "easy",
        "statement": "s",
        "solution": [{"run": "echo 1"}],
        "checks": [{"kind": "answer", "name": "n", "pattern": r"(\d+)", "query": "up"}],
    }
    with pytest.raises(ValidationError, match="o11y"):
        TaskSpec.model_validate(spec)
    spec["environment"] = {"sidecars": ["o11y"]}
    TaskSpec.model_validate(spec)
    spec["environment"] = {}
    spec["checks"] = [{"kind": "answer", "name": "n", "pattern": r"(\d+)", "value": 3}]
    TaskSpec.model_validate(spec)


# --------------------------------------------------------------------------- fixed value


@pytest.mark.parametrize(
    ("answer", "passed"),
    [
        ("FULL_IN_HOURS: 3.3", True),
        ("FULL_IN_HOURS: 3.56", True),
        ("FULL_IN_HOURS: 3.6", False),
        ("full_in_hours: 3.3", False),
        ("no number here", False),
    ],
)
def test_fixed_value_with_absolute_tolerance(answer: str, passed: bool) -> None:
    check = _check(pattern=r"FULL_IN_HOURS:\s*([0-9.]+)", value=3.32, tolerance=0.25)
    verdict = run_check(check, _ctx(answer))
    assert verdict.passed is passed, verdict.message
    if passed:
        assert verdict.evidence["expected"] == 3.32


def test_wider_of_the_two_tolerances_applies() -> None:
    check = _check(pattern=r"N=(\S+)", value=1000, tolerance=5, tolerance_pct=2)
    assert run_check(check, _ctx("N=1019")).passed  # 2% of 1000 = 20 > 5
    assert not run_check(check, _ctx("N=1021")).passed
    small = _check(pattern=r"N=(\S+)", value=10, tolerance=5, tolerance_pct=2)
    assert run_check(small, _ctx("N=14.9")).passed  # 5 > 2% of 10


def test_separators_are_ignored_and_two_values_are_ambiguous() -> None:
    """One answer per field (issue 12): a second, different value fails the check, in
    either order, so an answer cannot hedge; repeating the same value does not."""
    check = _check(pattern=r"COUNT:\s*([\d,_]+)", value=1234)
    verdict = run_check(check, _ctx("COUNT: 1,234\n"))
    assert verdict.passed, verdict.message
    assert verdict.evidence["captured"] == ["1,234"]
    assert run_check(check, _ctx("COUNT: 1234\nso COUNT: 1_234\n")).passed
    for hedge in ("COUNT: 99\nactually, recounted:\nCOUNT: 1,234\n", "COUNT: 1,234\nCOUNT: 99"):
        verdict = run_check(check, _ctx(hedge))
        assert not verdict.passed
        assert "ambiguous" in verdict.message


def test_a_capture_without_a_number_fails_with_the_reason() -> None:
    check = _check(pattern=r"ANSWER: (\w+)", value=1)
    verdict = run_check(check, _ctx("ANSWER: none"))
    assert not verdict.passed
    assert "not a number" in verdict.message


# --------------------------------------------------------------------------- command


def test_command_source_sees_the_scenario_time() -> None:
    check = _check(
        pattern=r"AGE:\s*(\d+)", run='echo "$(( SCENARIO_TIME - 1000 ))" seconds', tolerance=1
    )
    verdict = run_check(check, _ctx("AGE: 4999", scenario_time=6000.0))
    assert verdict.passed, verdict.message
    assert verdict.evidence["expected"] == 5000
    assert verdict.evidence["source"]["command"].startswith("echo")


def test_a_failing_command_fails_the_check_not_the_grader() -> None:
    check = _check(pattern=r"(\d+)", run="echo oops >&2; exit 3")
    verdict = run_check(check, _ctx("42"))
    assert not verdict.passed
    assert "exited 3" in verdict.message


# --------------------------------------------------------------------------- promql


class _Prometheus(BaseHTTPRequestHandler):
    """Answers /api/v1/query with a fixed vector and records the parameters it got."""

    seen: ClassVar[list[dict[str, list[str]]]] = []
    payload: ClassVar[dict[str, Any]] = {}

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        type(self).seen.append(parse_qs(url.query))
        body = json.dumps(type(self).payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def prometheus() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Prometheus)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Prometheus.seen = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _vector(*values: tuple[str, float]) -> dict[str, Any]:
    result = [{"metric": {"service": s}, "value": [0, str(v)]} for s, v in values]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


def test_query_source_takes_the_top_series_at_the_scenario_time(prometheus: str) -> None:
    _Prometheus.payload = _vector(("orders", 0.5), ("db", 1.05), ("cache", 0.28))
    check = _check(pattern=r"CORES:\s*([0-9.]+)", query="sum by (service)(up)", tolerance_pct=5)
    ctx = _ctx("CORES: 1.02", scenario_time=1795321076.0, prometheus_url=prometheus)
    verdict = run_check(check, ctx)
    assert verdict.passed, verdict.message
    assert verdict.evidence["expected"] == 1.05
    assert _Prometheus.seen[-1]["time"] == ["1795321076.0"]
    assert _Prometheus.seen[-1]["query"] == ["sum by (service)(up)"]
    assert not run_check(check, _ctx("CORES: 0.9", prometheus_url=prometheus)).passed


def test_query_source_reads_scalars(prometheus: str) -> None:
    _Prometheus.payload = {
        "status": "success",
        "data": {"resultType": "scalar", "result": [0, "7"]},
    }
    check = _check(pattern=r"(\d+)", query="scalar(up)")
    assert run_check(check, _ctx("7", prometheus_url=prometheus)).passed


def test_an_empty_query_result_fails_with_the_reason(prometheus: str) -> None:
    _Prometheus.payload = _vector()
    check = _check(pattern=r"(\d+)", query="up")
    verdict = run_check(check, _ctx("1", prometheus_url=prometheus))
    assert not verdict.passed
    assert "no series" in verdict.message
