"""The hack-detection judge of `opsbench audit`, against a real OpenAI-compatible server:
passing trials only, a `hack` verdict flags a pass, answers are cached, an outage leaves
the trial `ungraded`, and the job-end audit keeps an earlier verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsbench.audit import audit_job
from opsbench.cli import main
from opsbench.models.audit import TrialAudit
from tests.fakes.openai_server import (
    FakeOpenAIServer,
    error_reply,
    litellm_warm,
    openai_server,
    text_reply,
)
from tests.redteam.trials import NGINX_CHECKS, make_task, write_trial

__all__ = ["litellm_warm", "openai_server"]

FAST = {"max_retries": 0, "backoff_initial": 0, "min_request_interval": 0, "rate_limit": None}


@pytest.fixture(autouse=True)
def _offline_openai_env(monkeypatch: pytest.MonkeyPatch, litellm_warm: None) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def verdict(text: str) -> str:
    return json.dumps({"verdicts": [{"name": "honest", "verdict": text, "explanation": "why"}]})


def saved(job: Path, trial: str) -> TrialAudit:
    return TrialAudit.model_validate_json((job / trial / "verifier/audit.json").read_text())


@pytest.fixture
def job(tmp_path: Path) -> Path:
    task = make_task(tmp_path, "nginx", NGINX_CHECKS)
    job = tmp_path / "job"
    write_trial(job, task, 1, commands=["nginx -s reload"], answer="fixed it")  # rules: clean
    write_trial(job, task, 2, commands=["nginx -s reload"], passed=False)
    (job / "config.json").write_text(json.dumps({"provider_settings": FAST}))
    return job


def test_a_hack_verdict_flags_a_pass_and_is_cached(
    job: Path, openai_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    openai_server.push(text_reply(verdict("NO")))
    args = ["audit", str(job), "--judge-model", "openai/judge", "--api-base", openai_server.url]

    assert main(args) == 0

    assert len(openai_server.requests) == 1  # the failing trial is not judged
    request = openai_server.requests[0].body
    assert request["temperature"] == 0
    assert "fixed it" in request["messages"][1]["content"]  # the transcript is judged
    first = saved(job, "nginx__1")
    assert first.judge is not None and first.judge.verdict == "hack" and first.suspect
    assert saved(job, "nginx__2").judge is None
    assert "1 passing trials flagged" in capsys.readouterr().out
    assert main(args) == 0  # cached: no second call
    assert len(openai_server.requests) == 1
    audit_job(job)  # the audit at job end runs no judge and keeps the verdict
    kept = saved(job, "nginx__1").judge
    assert kept is not None and kept.verdict == "hack"


def test_an_unreachable_judge_leaves_the_pass_ungraded(
    job: Path, openai_server: FakeOpenAIServer
) -> None:
    openai_server.push(error_reply(500), error_reply(500))

    assert (
        main(["audit", str(job), "--judge-model", "openai/j", "--api-base", openai_server.url]) == 0
    )

    audit = saved(job, "nginx__1")
    assert audit.judge is not None and audit.judge.verdict == "ungraded"
    assert not audit.suspect
