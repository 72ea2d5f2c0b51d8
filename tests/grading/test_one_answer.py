"""Answers are read once per field, and grounding matches whole tokens."""

from __future__ import annotations

from grading.checks import (
    CheckContext,
    ExecResult,
    Observation,
    read_field,
    run_check,
    seen_as_token,
)
from opsbench.models.spec import AnswerCheck, TranscriptCheck

ROOT = TranscriptCheck(
    kind="transcript",
    name="root",
    answer_matches=r"(?m)^\W*ROOT_SERVICE:\W*([a-z][a-z0-9-]*)",
    must_cite=["payments"],
)
COUNT = AnswerCheck(
    kind="answer", name="count", pattern=r"(?m)^\W*COUNT:\W*([0-9][0-9,]*)", value=42
)
SEEN = ["service=payments status=502 upstream=card-processor", "checkout retried"]


def _ctx(answer: str, seen: list[str] | None = None) -> CheckContext:
    def no_exec(command: str, user: str, timeout: float) -> ExecResult:
        raise AssertionError("answer checks with a fixed value run nothing")

    observations = [Observation("cat /var/log/app.log", out) for out in seen or SEEN]
    return CheckContext(exec=no_exec, final_answer=answer, observations=observations)


def test_the_right_answer_alone_passes() -> None:
    assert run_check(ROOT, _ctx("ROOT_SERVICE: payments\n")).passed
    assert run_check(COUNT, _ctx("COUNT: 42\n")).passed


def test_every_candidate_on_separate_lines_is_ambiguous() -> None:
    answer = "ROOT_SERVICE: gateway\nROOT_SERVICE: checkout\nROOT_SERVICE: payments\n"
    verdict = run_check(ROOT, _ctx(answer, [*SEEN, "gateway", "checkout"]))
    assert not verdict.passed
    assert "ambiguous: several values for one field" in verdict.message


def test_a_list_on_the_field_line_is_ambiguous() -> None:
    for answer in ("ROOT_SERVICE: payments, checkout", "ROOT_SERVICE: payments or checkout"):
        verdict = run_check(ROOT, _ctx(answer, [*SEEN, "checkout"]))
        assert not verdict.passed, answer
        assert "a list of candidates" in verdict.message
    verdict = run_check(COUNT, _ctx("COUNT: 42, 40, 44"))
    assert not verdict.passed and "ambiguous" in verdict.message


def test_the_same_value_twice_is_one_answer() -> None:
    assert run_check(ROOT, _ctx("ROOT_SERVICE: payments\n...\nROOT_SERVICE: Payments\n")).passed
    assert run_check(COUNT, _ctx("COUNT: 42\nso COUNT: 42\n")).passed
    assert run_check(COUNT, _ctx("COUNT: 4,2\n")).passed, "a digit separator, not a list"


def test_a_wrong_single_answer_fails_as_not_the_answer() -> None:
    verdict = run_check(ROOT, _ctx("ROOT_SERVICE: checkout", [*SEEN]))
    assert not verdict.passed
    assert "not the answer: checkout" in verdict.message


def test_grounding_is_whole_tokens_not_substrings() -> None:
    assert seen_as_token("no", "answer: no") is True
    assert seen_as_token("no", "node not found; cannot") is False
    assert seen_as_token("pay", "payments") is False
    assert seen_as_token("payments", "service=payments status") is True
    verdict = run_check(ROOT, _ctx("ROOT_SERVICE: payments", ["paymentsvc is down"]))
    assert not verdict.passed and "never returned by the agent's commands" in verdict.message


def test_a_value_the_agent_typed_itself_is_not_grounded() -> None:
    echoed = CheckContext(
        exec=_ctx("").exec,
        final_answer="ROOT_SERVICE: payments",
        observations=[Observation("echo payments checkout gateway", "payments checkout gateway")],
    )
    verdict = run_check(ROOT, echoed)
    assert not verdict.passed
    assert "never returned by the agent's commands: payments" in verdict.message
    planted = [
        Observation("printf 'payments\\n' > /tmp/x", ""),
        Observation("cat /tmp/x", "payments"),
    ]
    verdict = run_check(
        ROOT,
        CheckContext(exec=echoed.exec, final_answer="ROOT_SERVICE: payments", observations=planted),
    )
    assert not verdict.passed, "typed first, read back later: still the agent's own word"
    honest = [
        Observation("curl -s o11y:9090/api/v1/query?query=errors", "service=payments 0.4"),
        Observation("grep payments /var/log/apps/payments.log", "payments timeout"),
    ]
    verdict = run_check(
        ROOT,
        CheckContext(exec=echoed.exec, final_answer="ROOT_SERVICE: payments", observations=honest),
    )
    assert verdict.passed, verdict.message


def test_read_field_keeps_every_value() -> None:
    field = read_field(ROOT.answer_matches, "ROOT_SERVICE: a\nROOT_SERVICE: b")
    assert field.values == ["a", "b"]
    assert field.ambiguity(["a", "b"]).startswith("several values")


def test_several_lines_for_one_label_are_ambiguous_even_when_the_pattern_names_one() -> None:
    closed = TranscriptCheck(
        kind="transcript",
        name="root-error",
        answer_matches=r"(?m)^\W*ROOT_ERROR:.*?(cart lock timeout)",
        must_cite=["cart lock timeout"],
    )
    seen = ["error=cart lock timeout service=checkout"]
    shotgun = "ROOT_ERROR: disk full\nROOT_ERROR: cart lock timeout\nROOT_ERROR: oom\n"
    verdict = run_check(closed, _ctx(shotgun, seen))
    assert not verdict.passed and "ambiguous" in verdict.message
    assert run_check(closed, _ctx("ROOT_ERROR: cart lock timeout\n", seen)).passed


def test_a_grounded_number_must_have_been_returned_by_a_command() -> None:
    pct = AnswerCheck(
        kind="answer",
        name="pct",
        pattern=r"(?m)^\W*PCT:\W*([0-9][0-9.,]*)",
        value=40.44,
        tolerance=1.5,
        ground=True,
    )
    guess = run_check(pct, _ctx("PCT: 41", ["nothing numeric here"]))
    assert not guess.passed and "a guess" in guess.message
    faked = [
        Observation("printf '#!/bin/sh\\necho 41\\n' > /usr/local/bin/curl", ""),
        Observation("curl o11y:9090", "41"),
    ]
    assert not run_check(
        pct, CheckContext(exec=_ctx("").exec, final_answer="PCT: 41", observations=faked)
    ).passed
    read = [Observation("curl -s o11y:9090/api/v1/query", '{"value":[1796293740,"40.4448"]}')]
    assert run_check(
        pct, CheckContext(exec=_ctx("").exec, final_answer="PCT: 40.4", observations=read)
    ).passed
