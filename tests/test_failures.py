"""The failure table decides what counts in scores and what reruns: pin its verdicts."""

from __future__ import annotations

import asyncio

import pytest

from opsbench.failures import (
    POLICY,
    AgentTimeout,
    InfraError,
    ProviderError,
    classify,
)
from opsbench.models.result import Outcome


@pytest.mark.parametrize(
    ("exc", "phase", "outcome"),
    [
        (KeyboardInterrupt(), "agent", Outcome.CANCELLED),
        (asyncio.CancelledError(), "verify", Outcome.CANCELLED),
        (ValueError("bug in the agent"), "agent", Outcome.AGENT_ERROR),
        (ValueError("bug in our code"), "provision", Outcome.INFRA_ERROR),
        (ProviderError("429 after retries"), "agent", Outcome.PROVIDER_ERROR),
        (AgentTimeout("slow"), "agent", Outcome.AGENT_TIMEOUT),
        (InfraError("sidecar unhealthy"), "provision", Outcome.INFRA_ERROR),
    ],
)
def test_classify(exc: BaseException, phase: str, outcome: Outcome) -> None:
    assert classify(exc, phase) == outcome


def test_only_the_agents_own_failures_count_in_scores() -> None:
    counted = {o for o, p in POLICY.items() if p.counts_in_scores}
    assert counted == {Outcome.GRADED, Outcome.AGENT_ERROR, Outcome.AGENT_TIMEOUT}
    rerun = {o for o, p in POLICY.items() if p.rerun_on_resume}
    assert rerun == {Outcome.PROVIDER_ERROR, Outcome.INFRA_ERROR, Outcome.CANCELLED}
