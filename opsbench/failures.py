"""The failure table: one place that says what each way of failing means.

Retry, resume, grading and reports all read this table; none of them decides on its own
whether, say, a provider outage counts against a model (it never does).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from opsbench.models.result import Outcome


class Cause(StrEnum):
    NONE = "none"
    AGENT = "agent"
    PROVIDER = "provider"
    INFRA = "infra"
    USER = "user"


@dataclass(frozen=True)
class OutcomePolicy:
    cause: Cause
    counts_in_scores: bool
    """Graded trials and the agent's own failures are in the denominator; nothing else."""
    rerun_on_resume: bool


POLICY: dict[Outcome, OutcomePolicy] = {
    Outcome.GRADED: OutcomePolicy(Cause.NONE, counts_in_scores=True, rerun_on_resume=False),
    Outcome.AGENT_ERROR: OutcomePolicy(Cause.AGENT, counts_in_scores=True, rerun_on_resume=False),
    Outcome.AGENT_TIMEOUT: OutcomePolicy(Cause.AGENT, counts_in_scores=True, rerun_on_resume=False),
    Outcome.PROVIDER_ERROR: OutcomePolicy(
        Cause.PROVIDER, counts_in_scores=False, rerun_on_resume=True
    ),
    Outcome.INFRA_ERROR: OutcomePolicy(Cause.INFRA, counts_in_scores=False, rerun_on_resume=True),
    Outcome.CANCELLED: OutcomePolicy(Cause.USER, counts_in_scores=False, rerun_on_resume=True),
}


class TrialFailure(Exception):
    """Base for failures raised inside a trial; `outcome` classifies it."""

    outcome: Outcome = Outcome.INFRA_ERROR


class InfraError(TrialFailure):
    """Docker, an image build, a sidecar, prepare or the verifier's infrastructure failed."""

    outcome = Outcome.INFRA_ERROR


class AgentError(TrialFailure):
    """The agent itself crashed."""

    outcome = Outcome.AGENT_ERROR


class AgentTimeout(TrialFailure):
    outcome = Outcome.AGENT_TIMEOUT


class ProviderError(TrialFailure):
    """Model calls failed after every retry: an evaluation artifact, never a zero."""

    outcome = Outcome.PROVIDER_ERROR


class Cancelled(TrialFailure):
    outcome = Outcome.CANCELLED


def classify(exc: BaseException, phase: str) -> Outcome:
    """The outcome for an exception escaping `phase`.

    Classified failures carry their own outcome. Anything unexpected is charged to the
    agent only when it escaped the agent's own code; elsewhere it is our infrastructure.
    """
    if isinstance(exc, TrialFailure):
        return exc.outcome
    if isinstance(exc, (KeyboardInterrupt, *_cancelled_types())):
        return Outcome.CANCELLED
    if phase == "agent":
        return Outcome.AGENT_ERROR
    return Outcome.INFRA_ERROR


def _cancelled_types() -> tuple[type[BaseException], ...]:
    import asyncio

    return (asyncio.CancelledError,)
