"""`opsbench.open(task)`: one task environment driven step by step from Python.

The gym-style surface of the benchmark (reset, act, score): `open` provisions and
prepares the task exactly as a trial does, `exec`/`upload`/`download` act in it (every
exec audited into `agent/commands.jsonl`, as an agent's), `grade()` runs the trial's own
verify phase through the trusted verifier and returns the same typed verdicts
(`GradingDetails`), `reset()` gives a fresh prepared environment (a new episode) and
`close()` tears down.

A session is a trial under the hood (the same `TrialState`, phases and files), so with
`record="JOBNAME"` each episode is saved as a trial of that job — `result.json`, the
audit record, the verifier files — and the job's summary and run report are rewritten:
a notebook session lands in reports and stores like any run. Without `record`, episodes
live in a temporary directory that `close()` removes.

Everything a session starts carries the engine labels of its process, so a session whose
process is killed before `close()` is swept by the next `opsbench preflight`.
"""

from __future__ import annotations

import difflib
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from opsbench.errors import OpsbenchError
from opsbench.models.job import JobConfig, Variant
from opsbench.models.result import Outcome, PhaseTiming, TrialResult
from opsbench.models.spec import TaskSpec
from opsbench.models.trajectory import AtifAgent, TrajectoryWriter, write_json_atomic
from opsbench.models.trial import TrialConfig
from opsbench.models.verdict import GradingDetails
from opsbench.paths import JobPaths, ProjectPaths, TaskPaths, TrialPaths, find_root
from opsbench.runtime.base import Runtime, TrialEnvironment, Verifier
from opsbench.sandbox import AuditedSandbox, Endpoint, ExecOutput
from opsbench.trial.state import TrialState

SESSION_AGENT = "session"
"""The agent a session is recorded as unless told otherwise (`opsbench shell`: `human`)."""


class UnknownTask(OpsbenchError):
    pass


def resolve_task(task: str | Path, root: Path | None = None) -> TaskPaths:
    """A compiled task directory, or a task id of the project (tasks/ synced first).
    An unknown id lists close matches."""
    as_path = Path(task)
    if as_path.is_dir() and TaskPaths(as_path).spec_json.is_file():
        return TaskPaths(as_path.resolve())
    from opsbench.sync import sync

    paths = ProjectPaths(root or find_root())
    ids = sync(paths).tasks
    name = str(task)
    if name not in ids:
        close = difflib.get_close_matches(name, ids, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownTask(f"unknown task {name!r}{hint} ({len(ids)} tasks in {paths.tasks})")
    return TaskPaths((paths.tasks / name).resolve())


@dataclass(frozen=True)
class Episode:
    """One prepared environment of a session: its trial state and handles."""

    state: TrialState
    sandbox: AuditedSandbox
    agent_phase: AbstractContextManager[None]


class Session:
    """A prepared task environment; see the module docstring. Not thread-safe."""

    def __init__(
        self,
        task: TaskPaths,
        job: JobPaths,
        *,
        recording: bool,
        agent: str = SESSION_AGENT,
        runtime: Runtime | None = None,
        judge_model: str | None = None,
        seed: int = 0,
        scratch: Path | None = None,
        keep: bool = False,
        start: bool = True,
    ) -> None:
        from opsbench.clock import scenario_time
        from opsbench.compile import read_task_checksum

        self.task = task
        self.spec = TaskSpec.model_validate_json(task.spec_json.read_text())
        self.job = job
        self.recording = recording
        self.agent = agent
        self.judge_model = judge_model
        self.seed = seed
        self.keep = keep
        self._scratch = scratch
        self._checksum = read_task_checksum(task)
        from opsbench.runtime.environment import DockerRuntime

        if runtime is None:
            runtime = DockerRuntime()
        if isinstance(runtime, DockerRuntime) and recording:
            from opsbench.runtime.docker import remove_leftovers

            remove_leftovers(job.name)  # a killed session of this job: names are reused
        self.runtime = runtime
        self.job_config = JobConfig(
            job_name=job.name,
            variant=Variant(agent=agent, n_attempts=1),
            judge_model=judge_model,
            seed=seed,
        )
        if recording:
            from opsbench.jobrun import check_resume

            check_resume(job, self.job_config)
            job.dir.mkdir(parents=True, exist_ok=True)
            write_json_atomic(job.config, self.job_config.model_dump(mode="json"))
        self.clock = scenario_time(job.scenario_time)
        self.results: list[TrialResult] = []
        self.notes: dict[str, Any] = {}
        """Free-form state a tool keeps with the episode across `detach`/`adopt`."""
        self._episode: Episode | None = None
        self._verifier: Verifier | None = None
        self._graded_commands = -1
        self._answer: str | None = None
        if start:
            self._start()

    @classmethod
    def adopt(cls, trial: TrialPaths, runtime: Runtime | None = None) -> Session:
        """Take over the environment a kept session (`detach`) left running."""
        from opsbench.runtime.base import EnvironmentPlan
        from opsbench.runtime.reattach import reattach
        from opsbench.trial.provision import sidecar_plans

        if not trial.kept_session.is_file():
            raise OpsbenchError(f"{trial.dir}: no kept session to rejoin")
        config = TrialConfig.model_validate_json(trial.config.read_text())
        saved = KeptSession.model_validate_json(trial.kept_session.read_text())
        task = TaskPaths(Path(config.task_dir))
        session = cls(
            task,
            JobPaths.of_trial(trial),
            recording=True,
            agent=config.agent,
            runtime=runtime,
            judge_model=config.judge_model,
            seed=config.seed,
            start=False,
        )
        state = TrialState(
            config,
            trial,
            task,
            session.spec,
            threading.Event(),
            session.runtime,
            started_at=saved.started_at,
            phases=dict(saved.phases),
            image=saved.image,
        )
        sidecars, _ = sidecar_plans(session.spec, None)
        plan = EnvironmentPlan(
            config.job_name,
            config.trial_name,
            saved.image,
            session.spec,
            sidecars,
            instance=str(trial.dir.resolve()),  # as provision named it
        )
        state.env = reattach(plan, state.log)
        state.log("session rejoined")
        sandbox = AuditedSandbox(state.env.agent_sandbox(), trial.commands)
        session._answer = saved.answer
        session.notes = dict(saved.notes)
        agent_phase = _continued(state, "agent")
        agent_phase.__enter__()
        session._episode = Episode(state, sandbox, agent_phase)
        return session

    def detach(self) -> TrialPaths:
        """Leave the environment running, unrecorded, for `Session.adopt` to take over
        from another process (only for a session opened with `keep=True`, whose
        containers leftover sweeps pass by)."""
        if not self.keep:
            raise OpsbenchError("only a session opened with keep=True can be left running")
        episode = self._current()
        self._episode = None
        if self._verifier is not None:
            self._verifier.close()
        state = episode.state
        saved = KeptSession(
            started_at=state.started_at,
            phases=state.phases,
            image=state.image,
            answer=self._answer,
            notes=self.notes,
        )
        write_json_atomic(state.paths.kept_session, saved.model_dump(mode="json"))
        state.log("session kept running")
        return state.paths

    @property
    def audit(self) -> AuditedSandbox:
        """The episode's audited handle (its record: `trial.commands`)."""
        return self._current().sandbox

    @property
    def environment(self) -> TrialEnvironment:
        """The runtime's handle on the episode's environment (for tools built on
        sessions, such as `opsbench shell`)."""
        env = self._current().state.env
        assert env is not None, "an episode always has its environment"
        return env

    # ------------------------------------------------------------------ the episode

    @property
    def trial(self) -> TrialPaths:
        """The current episode's trial directory (its audit record, verifier files)."""
        return self._current().state.paths

    @property
    def instruction(self) -> str:
        """What an agent would be told (the task's instruction and its sidecars)."""
        from opsbench.trial.agent import instruction_for

        return instruction_for(self._current().state)

    @property
    def endpoints(self) -> dict[str, Endpoint]:
        """The sidecars by name, as reached from inside the task container."""
        return self._current().sandbox.endpoints

    def exec(
        self,
        command: str,
        *,
        timeout: float = 60,
        user: str | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
    ) -> ExecOutput:
        """Run `command` with bash in the task container (the task's agent user unless
        `user` says otherwise); audited like every exec of an agent."""
        return self._current().sandbox.exec(command, timeout=timeout, user=user, env=env, cwd=cwd)

    def upload(self, local: Path, remote: str) -> None:
        self._current().sandbox.upload(Path(local), remote)

    def download(self, remote: str, local: Path) -> None:
        self._current().sandbox.download(remote, Path(local))

    def answer(self, text: str) -> None:
        """The final answer question tasks grade (an agent's last message)."""
        self._answer = text
        self._write_trajectory()

    def grade(self, answer: str | None = None) -> GradingDetails:
        """Grade the environment as it is now: the trial's verify phase, through the
        trusted verifier. Repeatable; the episode's verifier files hold the last grade."""
        from opsbench.trial.verify import grade_with, require_running

        if answer is not None:
            self.answer(answer)
        episode = self._current()
        state, env = episode.state, self.environment
        with state.phase("verify"):
            require_running(state, env)
            if self._verifier is None:
                self._verifier = env.open_verifier()
            result = grade_with(state, self._verifier)
        self._graded_commands = episode.sandbox.recorded
        return result.details

    def reset(self) -> None:
        """End this episode (saved as a trial when recording) and start a fresh one:
        a new environment, provisioned and prepared."""
        self._end()
        self._start()

    def close(self) -> None:
        """End the episode and remove everything the session started. Idempotent."""
        self._end()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _current(self) -> Episode:
        if self._episode is None:
            raise OpsbenchError("the session is closed")
        return self._episode

    def _start(self) -> None:
        from opsbench.trial.prepare import prepare
        from opsbench.trial.provision import build_image, provision

        attempt = _next_attempt(self.job, self.task.task_id)
        paths = self.job.trial(self.task.task_id, attempt)
        paths.make()
        config = TrialConfig(
            job_name=self.job.name,
            trial_name=paths.dir.name,
            task_id=self.task.task_id,
            attempt=attempt,
            task_dir=str(self.task.dir),
            task_checksum=self._checksum,
            agent=self.agent,
            scenario_time=self.clock,
            seed=self.seed,
            judge_model=self.judge_model,
        )
        write_json_atomic(paths.config, config.model_dump(mode="json"))
        state = TrialState(config, paths, self.task, self.spec, threading.Event(), self.runtime)
        self._answer = None
        self._verifier = None
        self._graded_commands = -1
        self.notes = {}
        try:
            with _owned(self.keep), state.phase("preflight"):
                build_image(state)
            with _owned(self.keep), state.phase("provision"):
                env = provision(state)
            with state.phase("prepare"):
                prepare(state, env.verifier)
        except BaseException:
            if state.env is not None:
                state.env.teardown()
            raise
        sandbox = AuditedSandbox(env.agent_sandbox(), paths.commands)
        agent_phase = state.phase("agent")
        agent_phase.__enter__()
        self._episode = Episode(state, sandbox, agent_phase)
        state.paths.instruction.write_text(self.instruction, encoding="utf-8")
        self._write_trajectory()

    def _write_trajectory(self) -> None:
        """A trajectory of the session: the instruction, then the answer if one was given
        (the audit record holds the commands)."""
        episode = self._current()
        writer = TrajectoryWriter(
            episode.state.paths.trajectory, AtifAgent(name=self.agent, version="1")
        )
        writer.add(source="user", message=self.instruction)
        if self._answer is not None:
            writer.add(source="agent", message=self._answer)
        writer.finish(final_answer=self._answer or "")

    def _end(self) -> None:
        """Record the episode (grading it first if it changed since the last grade) when
        recording; tear the environment down either way."""
        episode, self._episode = self._episode, None
        if episode is None:
            return
        from opsbench.trial.record import record
        from opsbench.trial.restore import restore

        state = episode.state
        episode.agent_phase.__exit__(None, None, None)
        try:
            if self.recording and self._graded_commands != episode.sandbox.recorded:
                self._episode = episode
                try:
                    self.grade()
                except Exception as exc:
                    state.fail(exc, "verify")
                finally:
                    self._episode = None
        finally:
            if self._verifier is not None:
                self._verifier.close()
            restore(state)
        state.paths.kept_session.unlink(missing_ok=True)  # ended: nothing left to rejoin
        if self.recording:
            if state.rewards is None and state.outcome is None:
                state.outcome = Outcome.INFRA_ERROR
            self.results.append(record(state))
            _finish_job(self.job)


class KeptSession(BaseModel):
    """`<trial>/kept_session.json`: what a kept session's next process needs."""

    model_config = ConfigDict(extra="forbid")

    started_at: datetime
    phases: dict[str, PhaseTiming]
    image: str
    answer: str | None = None
    notes: dict[str, Any] = Field(default_factory=dict)


def _owned(keep: bool) -> AbstractContextManager[None]:
    """Engine objects made inside are kept (no owning process) when `keep`."""
    if not keep:
        return nullcontext()
    from opsbench.runtime.docker import kept

    return kept()


@contextmanager
def _continued(state: TrialState, name: str) -> Iterator[None]:
    """Close a phase an earlier process opened (its start time is kept)."""
    timing = state.phases.get(name)
    yield
    if timing is not None:
        timing.finished_at = datetime.now(UTC)
        timing.seconds = round((timing.finished_at - timing.started_at).total_seconds(), 3)
        timing.ok = True


def _next_attempt(job: JobPaths, task_id: str) -> int:
    from opsbench.paths import parse_trial_name

    attempts = [
        parsed[1]
        for d in job.trial_dirs()
        if (parsed := parse_trial_name(d.name)) is not None and parsed[0] == task_id
    ]
    return max(attempts, default=0) + 1


def _finish_job(job: JobPaths) -> None:
    from opsbench.display import RecordingDisplay
    from opsbench.jobrun import finish_job

    finish_job(job, RecordingDisplay())


def open_session(
    task: str | Path,
    *,
    record: str | None = None,
    agent: str = SESSION_AGENT,
    root: str | Path | None = None,
    jobs_dir: str | Path | None = None,
    runtime: Runtime | None = None,
    judge_model: str | None = None,
    seed: int = 0,
    keep: bool = False,
    **kwargs: Any,
) -> Session:
    """Provision and prepare `task` (an id of the project's tasks, or a compiled task
    directory); the returned session is also a context manager.

    `record="JOBNAME"` saves every episode as a trial of that job under `jobs_dir`
    (default: the project's jobs/); `agent` is the name the trials are recorded under.
    """
    if kwargs:
        raise TypeError(f"unexpected arguments: {', '.join(sorted(kwargs))}")
    root = Path(root) if root is not None else None
    paths = resolve_task(task, root)
    scratch: Path | None = None
    if record:
        base = Path(jobs_dir) if jobs_dir else ProjectPaths(root or find_root()).jobs
        job = JobPaths(base / record)
    else:
        scratch = Path(tempfile.mkdtemp(prefix="opsbench-session-"))
        job = JobPaths(scratch / f"session-{scratch.name.rsplit('-', 1)[-1].lower()}")
    try:
        return Session(
            paths,
            job,
            recording=bool(record),
            agent=agent,
            runtime=runtime,
            judge_model=judge_model,
            seed=seed,
            scratch=scratch,
            keep=keep,
        )
    except BaseException:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        raise
