"""Do-no-harm checks (weight 0) gate the pass and earn nothing."""

from __future__ import annotations

from grading.scoring import Component, score


def test_a_broken_do_no_harm_check_fails_the_task_gate() -> None:
    fixed_but_harmful = score([Component(2, True), Component(0, False)], [True])
    assert fixed_but_harmful.reward == 1.0
    assert fixed_but_harmful.task is False and fixed_but_harmful.passed is False


def test_do_no_harm_alone_earns_nothing() -> None:
    untouched = score([Component(2, False), Component(0, True)], [True])
    assert untouched.reward == 0.0 and untouched.task is False


def test_fixed_without_harm_passes() -> None:
    good = score([Component(2, True), Component(1, True), Component(0, True)], [True])
    assert good.reward == 1.0 and good.passed is True
