"""Verify: grade what the agent left, on the host, through the verifier's own handle.

If the agent's actions killed its own container (OOM, PID 1 gone) there is nothing to
verify: that is the agent's failure (`agent_error`), not infrastructure's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grading.checks import ExecResult
from grading.grader import GradingInput, Judge, grade
from opsbench.models.result import Rewards, UsageCounters
from opsbench.models.trajectory import load_trajectory, write_json_atomic
from opsbench.paths import TrialPaths
from opsbench.runtime import engine
from opsbench.sandbox import Sandbox, read_commands
from opsbench.trial.state import TrialState


def verify(state: TrialState, sandbox: Sandbox) -> None:
    if state.env is not None:
        status = state.env.main_state()
        if not status.get("Running", False):  # ask the engine why before blaming the agent
            raise engine.explain_stop(state.env, status, state.started_at)
    if engine.outage_since(state.started_at):
        raise engine.EngineUnavailable("the Docker engine failed during this trial")

    def run(command: str, user: str, timeout: float) -> ExecResult:
        out = sandbox.exec(command, timeout=timeout, user=user)
        return ExecResult(out.exit_code, out.stdout, out.stderr)

    spec: dict[str, Any] = json.loads(state.task.spec_json.read_text())
    result = grade(
        GradingInput(
            spec=spec,
            commands=read_commands(state.paths.commands),
            trajectory=load_trajectory(state.paths.trajectory),
            exec=run,
            scenario_time=state.config.scenario_time.timestamp(),
            judge=make_judge(
                state.config.judge_model,
                state.paths.dir.parent,
                state.config.provider_settings,
                state.usage,
            ),
        )
    )
    write_verifier_outputs(state.paths, result.details, result.evidence)
    state.rewards = Rewards(**result.score.to_dict())


def make_judge(
    model: str | None, job_dir: Path, settings: dict[str, Any], usage: UsageCounters | None = None
) -> Judge | None:
    """The rubric judge for a job (cached under the job's `.cache/judge/`), or None."""
    if not model:
        return None
    from grading.judge import LlmJudge, judge_or_ungraded

    judge = LlmJudge(model, cache_dir=job_dir / ".cache" / "judge", provider_settings=settings)
    if usage is not None:
        judge.usage = usage
    wrapped: Judge = judge_or_ungraded(judge)
    return wrapped


def write_verifier_outputs(
    paths: TrialPaths, details: dict[str, Any], evidence: dict[str, Any]
) -> None:
    paths.verifier.mkdir(parents=True, exist_ok=True)
    write_json_atomic(paths.evidence, evidence)
    write_json_atomic(paths.grading_details, details)
    write_json_atomic(paths.reward_json, details["score"])
    paths.reward_txt.write_text(f"{details['score']['reward']}\n")
