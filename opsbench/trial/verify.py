"""Verify: grade what the agent left, on the host, through the trusted verifier.

If the agent's actions killed its own container (OOM, PID 1 gone) there is nothing to
verify: that is the agent's failure (`agent_error`), not infrastructure's.
"""

from __future__ import annotations

import secrets

from grading.grader import GradingInput, GradingResult, Judge, grade
from opsbench.models.provider import ProviderSettings
from opsbench.models.result import UsageCounters
from opsbench.models.trajectory import load_trajectory, write_json_atomic
from opsbench.paths import JobPaths, TrialPaths
from opsbench.runtime import engine
from opsbench.runtime.base import TrialEnvironment, Verifier
from opsbench.sandbox import read_commands
from opsbench.trial.state import TrialState


def verify(state: TrialState, env: TrialEnvironment) -> GradingResult:
    """Stop the agent's foreground leftovers, join the trusted verifier, grade."""
    require_running(state, env)
    return grade_with(state, env.open_verifier())


def require_running(state: TrialState, env: TrialEnvironment) -> None:
    """A task container that stopped has nothing left to verify (the engine says whose
    fault that was); nor does a trial the engine failed during."""
    status = env.main_state()
    if not status.running:  # ask the engine why before blaming the agent
        raise engine.explain_stop(env, status, state.started_at)
    if engine.outage_since(state.started_at):
        raise engine.EngineUnavailable("the Docker engine failed during this trial")


def grade_with(state: TrialState, verifier: Verifier) -> GradingResult:
    """Grade through `verifier`, write the verifier files and set the trial's rewards.
    A session grades more than once through the same verifier."""
    stopped = verifier.stop_foreground()
    if stopped:
        state.log(f"stopped the agent's foreground processes: {'; '.join(stopped)[:500]}")
    result = grade(
        GradingInput(
            spec=state.spec,
            commands=read_commands(state.paths.commands),
            trajectory=load_trajectory(state.paths.trajectory),
            exec=verifier.exec,
            task_exec=verifier.task_exec,
            read_file=verifier.file_reader,
            processes=verifier.process_lister,
            nonce=secrets.token_hex(12),
            scenario_time=state.config.scenario_time.timestamp(),
            judge=make_judge(
                state.config.judge_model,
                JobPaths.of_trial(state.paths),
                state.config.provider_settings,
                state.usage,
            ),
        )
    )
    write_verifier_outputs(state.paths, result)
    state.rewards = result.details.score
    state.diagnostics = result.details.diagnostics
    return result


def make_judge(
    model: str | None,
    job: JobPaths,
    settings: ProviderSettings,
    usage: UsageCounters | None = None,
) -> Judge | None:
    """The rubric judge for a job (cached under the job's `.cache/judge/`), or None."""
    if not model:
        return None
    from grading.judge import LlmJudge, judge_or_ungraded

    judge = LlmJudge(model, cache_dir=job.judge_cache, provider_settings=settings)
    if usage is not None:
        judge.usage = usage
    wrapped: Judge = judge_or_ungraded(judge)
    return wrapped


def write_verifier_outputs(paths: TrialPaths, result: GradingResult) -> None:
    paths.verifier.mkdir(parents=True, exist_ok=True)
    write_json_atomic(paths.evidence, result.evidence.model_dump(mode="json"))
    write_json_atomic(paths.grading_details, result.details.dump())
    write_json_atomic(paths.reward_json, result.details.score.model_dump(mode="json"))
    paths.reward_txt.write_text(f"{result.details.score.reward}\n")
