"""Check kinds are listed once, in the spec's `Check` union; the grader follows it.

A kind added to the union without a runner would make every task using it fail at verify
time ("check could not run"), so the registry is held to the union here. Compliance rules
and facts dispatch with a `match` that mypy checks for exhaustiveness (`assert_never`).
"""

from __future__ import annotations

from typing import get_args

from grading.checks import RUNNERS
from opsbench.models.spec import Check


def test_every_check_model_of_the_spec_has_exactly_one_runner() -> None:
    union, _discriminator = get_args(Check)
    members = set(get_args(union))

    assert members, "the spec's Check union has no members"
    assert set(RUNNERS) == members
