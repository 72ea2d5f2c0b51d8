"""Record: write `result.json` last and atomically. Its presence means the trial finished."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from opsbench import __version__
from opsbench.failures import POLICY
from opsbench.models.result import Outcome, TrialResult, VariantInfo
from opsbench.models.trajectory import load_trajectory, write_json_atomic
from opsbench.models.verdict import DiagnosticsVerdict
from opsbench.sandbox import read_commands
from opsbench.trial.state import TrialState

log = logging.getLogger(__name__)


def _diagnostics(state: TrialState, outcome: Outcome) -> DiagnosticsVerdict | None:
    """A graded trial's from its grading; an agent that crashed or ran out of time still
    acted (and counts in scores as a fail), so its diagnostics come from its record."""
    if outcome == Outcome.GRADED:
        return state.diagnostics
    if not POLICY[outcome].counts_in_scores:
        return None
    from grading.diagnostics import diagnose

    try:
        commands = read_commands(state.paths.commands)
        trajectory = load_trajectory(state.paths.trajectory)
        return diagnose(state.spec, commands, trajectory, task_passed=False)
    except (OSError, ValueError) as exc:
        log.warning("%s: no diagnostics: %s", state.config.trial_name, exc)
        return None


def record(state: TrialState) -> TrialResult:
    cfg = state.config
    outcome = state.outcome or (Outcome.GRADED if state.rewards else Outcome.INFRA_ERROR)
    result = TrialResult(
        trial_name=cfg.trial_name,
        job_name=cfg.job_name,
        task_id=cfg.task_id,
        attempt=cfg.attempt,
        task_checksum=cfg.task_checksum,
        category=state.spec.category,
        difficulty=state.spec.difficulty,
        variant=VariantInfo(
            model=cfg.model, reasoning_effort=cfg.reasoning_effort, agent=cfg.agent
        ),
        outcome=outcome,
        started_at=state.started_at,
        finished_at=datetime.now(UTC),
        phases=state.phases,
        exception=state.exception,
        rewards=state.rewards if outcome == Outcome.GRADED else None,
        diagnostics=_diagnostics(state, outcome),
        usage=state.usage,
        opsbench_version=__version__,
    )
    if not state.paths.dir.is_dir():
        # Moved away while the trial ran (archived by hand, say): recreating it would plant
        # a result.json with no evidence beside it. The caller still gets the result.
        log.warning("%s: trial dir %s is gone; result not written", cfg.trial_name, state.paths.dir)
        return result
    try:
        write_json_atomic(state.paths.result, result.model_dump(mode="json"))
    except OSError as exc:
        log.warning("%s: could not write result.json: %s", cfg.trial_name, exc)
        return result
    state.log(f"recorded outcome {outcome}")
    return result
