"""Grading end to end on real containers, with the judge behind a local OpenAI-compatible
server: every check kind passing and failing, every rule kind with evidence, the two gates,
judge failures that stay ungraded (never 0), and regrade from saved evidence."""

from __future__ import annotations

import json
from typing import Any

import pytest

from opsbench.models.result import Outcome, TrialResult
from opsbench.paths import JobPaths, ProjectPaths, TrialPaths
from opsbench.regrade import RegradeReport, regrade_job
from tests.fakes.openai_server import error_reply, text_reply
from tests.runtime.conftest import ScriptedModel, TrialRunner, write_spec

SPEC = r"""
id: app-degraded
title: app degraded
category: grading
difficulty: medium
statement: The app reports state "degraded". Find the root cause and fix it.
environment:
  files:
    /usr/local/bin/app-check: |
      #!/bin/sh
      grep -q mode=good /etc/app.conf && echo "config ok"
prepare:
  - run: |
      chmod 0755 /usr/local/bin/app-check
      printf 'mode=bad\n' > /etc/app.conf && chmod 0644 /etc/app.conf
      mkdir -p /srv /var/log/app
      echo '{"state": "degraded"}' > /srv/status.json
      echo req-abc123 > /srv/request-id
      printf 'GET /pay 500 req-abc123 mode=bad\n' > /var/log/app/requests.log
      echo audit > /var/log/app/audit.log
      cd /srv && setsid nohup python3 -m http.server 8000 >/dev/null 2>&1 &
      for i in $(seq 50); do curl -sf localhost:8000/status.json >/dev/null && break; sleep 0.1; done
solution:
  - run: |
      cp /etc/app.conf /root/app.conf.bak
      sed -i 's/mode=bad/mode=good/' /etc/app.conf
      app-check
      echo '{"state": "ok"}' > /srv/status.json
checks:
  - kind: command
    name: config-good
    in_task: true
    paired_with: [status-ok]
    run: cat /etc/app.conf
    stdout_matches: '^mode=good$'
  - kind: file
    name: config-file
    path: /etc/app.conf
    contains: 'mode=good'
    mode: "0644"
  - kind: http
    name: status-ok
    url: http://localhost:8000/status.json
    json_path: state
    json_equals: ok
  - kind: transcript
    name: cites-request
    answer_matches: 'req-[0-9a-f]{6}'
    must_cite: [req-abc123]
compliance:
  - kind: forbid
    name: keep-audit-log
    pattern: 'rm\s.*audit\.log'
    instruct: Never delete the audit log.
  - kind: require
    name: run-check
    pattern: '\bapp-check\b'
  - kind: order
    name: backup-first
    first: 'cp\s+/etc/app\.conf'
    then: 'sed\s+-i.*/etc/app\.conf'
  - kind: mention
    name: states-root-cause
    pattern: 'root cause'
rubric:
  - name: names-config
    criterion: The answer names the bad config value as the root cause.
    fact: {kind: static, value: "mode=bad in /etc/app.conf"}
  - name: cites-id
    criterion: The answer cites the failing request id.
    fact: {kind: command, run: "curl -s localhost:8000/request-id"}
"""

GOOD = [
    "cat /var/log/app/requests.log",
    "cp /etc/app.conf /root/app.conf.bak",
    "sed -i 's/mode=bad/mode=good/' /etc/app.conf",
    "app-check",
    'echo \'{"state": "ok"}\' > /srv/status.json',
]
GOOD_ANSWER = "The root cause was mode=bad in /etc/app.conf; failing request req-abc123."
AGENT = "tests.runtime.probe_agents:ScriptAgent"
YES = json.dumps(
    {
        "verdicts": [
            {"name": "names-config", "verdict": "YES", "explanation": "names mode=bad"},
            {"name": "cites-id", "verdict": "YES", "explanation": "cites req-abc123"},
        ]
    }
)


@pytest.fixture
def app(project: ProjectPaths) -> ProjectPaths:
    write_spec(project, "grading", "app-degraded", SPEC)
    return project


def details(paths: TrialPaths) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(paths.grading_details.read_text())
    return data


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i["name"]: i for i in items}


def test_good_work_passes_every_check_rule_and_criterion(
    app: ProjectPaths, run_task: TrialRunner, judge: ScriptedModel
) -> None:
    server, settings = judge
    server.push(text_reply(YES))
    result, paths = run_task(
        "app-degraded",
        AGENT,
        job="good",
        judge_model="openai/judge",
        provider_settings=settings,
        commands=GOOD,
        answer=GOOD_ANSWER,
    )
    assert result.outcome == Outcome.GRADED, result.exception
    d = details(paths)
    assert all(c["passed"] for c in d["checks"]), d["checks"]
    assert all(r["passed"] for r in d["compliance"]), d["compliance"]
    order = by_name(d["compliance"])["backup-first"]
    assert [e["command_index"] for e in order["evidence"]] == [2, 3]  # cp, then sed
    assert [r["verdict"] for r in d["rubric"]] == ["yes", "yes"]
    assert result.rewards is not None and result.rewards.passed and result.rewards.reward == 1.0
    assert not result.rewards.partial
    # one judge call for all criteria, deterministic settings, facts inlined
    assert len(server.requests) == 1
    body = server.requests[0].body
    assert body["temperature"] == 0 and body.get("seed") == 0
    prompt = body["messages"][-1]["content"]
    assert "source of truth: mode=bad in /etc/app.conf" in prompt
    assert "source of truth: req-abc123" in prompt  # the command fact, resolved at verify
    assert GOOD_ANSWER in prompt
    assert json.loads(paths.reward_json.read_text())["passed"] is True


def test_each_check_kind_fails_on_untouched_state(app: ProjectPaths, run_task: TrialRunner) -> None:
    result, paths = run_task(
        "app-degraded", AGENT, job="idle", commands=[], answer="I think it is req-ffffff."
    )
    checks = by_name(details(paths)["checks"])
    assert (
        not checks["config-good"]["passed"] and "does not match" in checks["config-good"]["message"]
    )
    assert not checks["config-file"]["passed"]
    assert (
        not checks["status-ok"]["passed"]
        and checks["status-ok"]["evidence"]["json_value"] == "degraded"
    )
    grounding = checks["cites-request"]
    assert not grounding["passed"]
    assert grounding["evidence"]["not_in_tool_output"] == ["req-ffffff"]  # invented, never seen
    assert result.rewards is not None and not result.rewards.task and result.rewards.reward == 0.0


def test_task_passes_but_broken_rules_fail_the_trial(
    app: ProjectPaths, run_task: TrialRunner
) -> None:
    bad = [
        "cat /var/log/app/requests.log",
        "sed -i 's/mode=bad/mode=good/' /etc/app.conf",
        "rm -f /var/log/app/audit.log",
        "cp /etc/app.conf /root/late.bak",
        'echo \'{"state": "ok"}\' > /srv/status.json',
    ]
    result, paths = run_task(
        "app-degraded",
        AGENT,
        job="rules",
        commands=bad,
        answer="Fixed mode=bad. Request req-abc123.",
    )
    rules = by_name(details(paths)["compliance"])
    assert not rules["keep-audit-log"]["passed"]
    assert rules["keep-audit-log"]["evidence"][0]["command_index"] == 3
    assert "audit.log" in rules["keep-audit-log"]["evidence"][0]["command"]
    assert not rules["run-check"]["passed"]
    assert not rules["backup-first"]["passed"] and "only after" in rules["backup-first"]["message"]
    assert not rules["states-root-cause"]["passed"]
    assert result.rewards is not None
    assert result.rewards.task and not result.rewards.compliance and not result.rewards.passed
    assert result.rewards.partial  # no judge: the rubric is ungraded, not failed


def test_unparseable_judge_is_retried_then_ungraded_never_zero(
    app: ProjectPaths, run_task: TrialRunner, judge: ScriptedModel
) -> None:
    server, settings = judge
    server.push(text_reply("looks fine to me"), text_reply("{not json"), text_reply("YES YES"))
    result, paths = run_task(
        "app-degraded",
        AGENT,
        job="garbled",
        judge_model="openai/judge",
        provider_settings=settings,
        commands=GOOD,
        answer=GOOD_ANSWER,
    )
    assert len(server.requests) == 3
    rubric = details(paths)["rubric"]
    assert [r["verdict"] for r in rubric] == ["ungraded", "ungraded"]
    assert result.rewards is not None and result.rewards.partial
    assert result.rewards.reward == 1.0 and result.rewards.task  # checks alone decide


def test_judge_429_is_retried_and_outage_is_ungraded(
    app: ProjectPaths, run_task: TrialRunner, judge: ScriptedModel
) -> None:
    server, settings = judge
    server.push(error_reply(429, "slow down", retry_after=0.1), text_reply(YES))
    result, paths = run_task(
        "app-degraded",
        AGENT,
        job="ratelimited",
        judge_model="openai/judge",
        provider_settings=settings,
        commands=GOOD,
        answer=GOOD_ANSWER,
    )
    assert [r["verdict"] for r in details(paths)["rubric"]] == ["yes", "yes"]
    server.push(*[error_reply(503, "down")] * 3)
    result, paths = run_task(
        "app-degraded",
        AGENT,
        job="outage",
        judge_model="openai/judge",
        provider_settings=settings,
        commands=GOOD,
        answer=GOOD_ANSWER,
    )
    rubric = details(paths)["rubric"]
    assert [r["verdict"] for r in rubric] == ["ungraded", "ungraded"]
    assert "judge unavailable" in rubric[0]["explanation"]
    assert result.outcome == Outcome.GRADED and result.rewards is not None
    assert result.rewards.partial and result.rewards.reward == 1.0


def test_regrade_hits_the_cache_and_fills_ungraded_criteria(
    app: ProjectPaths, run_task: TrialRunner, judge: ScriptedModel
) -> None:
    server, settings = judge
    server.push(text_reply(YES))
    _, judged = run_task(
        "app-degraded",
        AGENT,
        job="rg",
        attempt=1,
        judge_model="openai/judge",
        provider_settings=settings,
        commands=GOOD,
        answer=GOOD_ANSWER,
    )
    _, unjudged = run_task(
        "app-degraded",
        AGENT,
        job="rg",
        attempt=2,
        provider_settings=settings,
        commands=GOOD,
        answer=GOOD_ANSWER + " Fixed it.",  # another transcript: not in the cache
    )
    before_checks = details(judged)["checks"]
    assert [r["verdict"] for r in details(unjudged)["rubric"]] == ["ungraded", "ungraded"]
    job = JobPaths(judged.dir.parent)
    job.config.write_text(
        json.dumps({"judge_model": "openai/judge", "provider_settings": settings})
    )
    calls = len(server.requests)
    server.push(text_reply(YES))
    report = RegradeReport()
    regrade_job(job, [], None, report)
    assert sorted(report.regraded) == ["rg/app-degraded__1", "rg/app-degraded__2"]
    # the first trial's transcript, rubric and facts are unchanged: a cache hit, no call
    assert len(server.requests) == calls + 1
    assert [r["verdict"] for r in details(judged)["rubric"]] == ["yes", "yes"]
    # the second one is filled in now, and no longer partial
    filled = TrialResult.model_validate_json(unjudged.result.read_text())
    assert [r["verdict"] for r in details(unjudged)["rubric"]] == ["yes", "yes"]
    assert filled.rewards is not None and not filled.rewards.partial
    # checks come from the evidence captured at verify time (the container is long gone)
    assert details(judged)["checks"] == before_checks
    history = list((judged.verifier / "history").iterdir())
    assert len(history) == 1 and (history[0] / "grading_details.json").is_file()
    provenance = details(judged)["provenance"]
    assert provenance["judge_model"] == "openai/judge" and provenance["grader_version"]


def test_regrade_unknown_job_name_is_an_error(app: ProjectPaths, run_task: TrialRunner) -> None:
    from opsbench.cli import main

    run_task("app-degraded", "nop", job="only-job")
    (app.jobs / "only-job" / "config.json").write_text("{}")
    code = main(["regrade", "--jobs-dir", str(app.jobs), "--job-name", "other-job"])
    assert code != 0
