"""Directory layouts. No other module joins path strings for tasks, jobs or trials.

```
<root>/                         ProjectPaths
  release.json                  the release manifest (opsbench release)
  tasks-spec/<category>/*.yaml  specs (source of truth)
  tasks-spec/_templates/        shared Jinja2 snippets
  tasks/<task-id>/              TaskPaths (Harbor's layout, generated)
    task.toml  instruction.md
    environment/Dockerfile  environment/docker-compose.yaml
    environment/prepare.sh  environment/entrypoint.sh
    tests/test.sh  tests/spec.json
    solution/solve.sh
  environment/                  shared Docker build contexts (base, sidecars)
  jobs/suite-<name>-<stamp>/    SuitePaths (also jobs/validate/): one job dir per variant
    scenario_time.txt  comparison.html
  jobs/<job>/                   JobPaths (or <suite>/<job>/)
    config.json  scenario_time.txt  result.json  run_report.html  PAUSE
    .cache/                     sidecar data per scenario clock, judge cache
    .harbor/<task-id>/          Harbor tasks as the job runs them (--path DIR)
    .archive/<timestamp>/<reason>/<trial>/
    <task-id>__<attempt>/       TrialPaths
      config.json  result.json  trial.log  kept_session.json
      agent/instruction.txt  agent/trajectory.json  agent/commands.jsonl
      verifier/reward.txt  verifier/reward.json  verifier/grading_details.json
      verifier/evidence.json  verifier/audit.json  verifier/history/<timestamp>/
```
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


def find_root(start: Path | None = None) -> Path:
    """The project root: the nearest parent holding `tasks-spec/` or `pyproject.toml`."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "tasks-spec").is_dir() and (candidate / "pyproject.toml").is_file():
            return candidate
    return here


@dataclass(frozen=True)
class ProjectPaths:
    root: Path

    @property
    def specs(self) -> Path:
        return self.root / "tasks-spec"

    @property
    def templates(self) -> Path:
        return self.specs / "_templates"

    @property
    def tasks(self) -> Path:
        return self.root / "tasks"

    @property
    def jobs(self) -> Path:
        return self.root / "jobs"

    @property
    def environment(self) -> Path:
        return self.root / "environment"

    @property
    def schema(self) -> Path:
        return self.root / "schema" / "task-spec.schema.json"

    @property
    def release(self) -> Path:
        """The committed release manifest submissions are validated against."""
        return self.root / "release.json"

    @property
    def suites(self) -> Path:
        return self.root / "suites"

    @property
    def sync_record(self) -> Path:
        """What the last full sync read and wrote (a cache, ignored by git)."""
        return self.root / ".opsbench-cache" / "sync-manifest.json"


@dataclass(frozen=True)
class TaskPaths:
    """One generated task in Harbor's layout."""

    dir: Path

    @property
    def task_id(self) -> str:
        return self.dir.name

    @property
    def config(self) -> Path:
        return self.dir / "task.toml"

    @property
    def instruction(self) -> Path:
        return self.dir / "instruction.md"

    @property
    def environment(self) -> Path:
        return self.dir / "environment"

    @property
    def dockerfile(self) -> Path:
        return self.environment / "Dockerfile"

    @property
    def compose(self) -> Path:
        return self.environment / "docker-compose.yaml"

    @property
    def prepare(self) -> Path:
        return self.environment / "prepare.sh"

    @property
    def entrypoint(self) -> Path:
        return self.environment / "entrypoint.sh"

    @property
    def tests(self) -> Path:
        return self.dir / "tests"

    @property
    def test_sh(self) -> Path:
        return self.tests / "test.sh"

    @property
    def spec_json(self) -> Path:
        return self.tests / "spec.json"

    @property
    def solution(self) -> Path:
        return self.dir / "solution"

    @property
    def solve_sh(self) -> Path:
        return self.solution / "solve.sh"


TRIAL_SEPARATOR = "__"


def trial_name(task_id: str, attempt: int) -> str:
    """`<task-id>__<attempt>`, attempts counted from 1."""
    return f"{task_id}{TRIAL_SEPARATOR}{attempt}"


def parse_trial_name(name: str) -> tuple[str, int] | None:
    """Inverse of `trial_name`; None for a directory that is not a trial."""
    task_id, sep, attempt = name.rpartition(TRIAL_SEPARATOR)
    if not sep or not task_id or not attempt.isdigit():
        return None
    return task_id, int(attempt)


@dataclass(frozen=True)
class TrialPaths:
    dir: Path

    @property
    def config(self) -> Path:
        return self.dir / "config.json"

    @property
    def result(self) -> Path:
        return self.dir / "result.json"

    @property
    def log(self) -> Path:
        return self.dir / "trial.log"

    @property
    def agent(self) -> Path:
        return self.dir / "agent"

    @property
    def instruction(self) -> Path:
        return self.agent / "instruction.txt"

    @property
    def trajectory(self) -> Path:
        return self.agent / "trajectory.json"

    @property
    def commands(self) -> Path:
        return self.agent / "commands.jsonl"

    @property
    def verifier(self) -> Path:
        return self.dir / "verifier"

    @property
    def reward_txt(self) -> Path:
        return self.verifier / "reward.txt"

    @property
    def reward_json(self) -> Path:
        return self.verifier / "reward.json"

    @property
    def grading_details(self) -> Path:
        return self.verifier / "grading_details.json"

    @property
    def evidence(self) -> Path:
        return self.verifier / "evidence.json"

    @property
    def audit(self) -> Path:
        """Audit flags on the trial (`opsbench.models.audit.TrialAudit`)."""
        return self.verifier / "audit.json"

    @property
    def history(self) -> Path:
        return self.verifier / "history"

    @property
    def kept_session(self) -> Path:
        """A session left running to rejoin (`opsbench shell --keep`); gone once recorded."""
        return self.dir / "kept_session.json"

    def make(self) -> None:
        self.agent.mkdir(parents=True, exist_ok=True)
        self.verifier.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class JobPaths:
    dir: Path

    @property
    def name(self) -> str:
        return self.dir.name

    @property
    def config(self) -> Path:
        return self.dir / "config.json"

    @property
    def scenario_time(self) -> Path:
        return self.dir / "scenario_time.txt"

    @property
    def result(self) -> Path:
        return self.dir / "result.json"

    @property
    def report(self) -> Path:
        return self.dir / "run_report.html"

    @property
    def pause_file(self) -> Path:
        return self.dir / "PAUSE"

    @property
    def archive(self) -> Path:
        return self.dir / ".archive"

    @property
    def cache(self) -> Path:
        """Per-job reusable data (sidecar TSDB blocks for the scenario clock)."""
        return self.dir / ".cache"

    @property
    def judge_cache(self) -> Path:
        return self.cache / "judge"

    @property
    def harbor_tasks(self) -> Path:
        """Harbor tasks as this job runs them (image map applied), one directory each."""
        return self.dir / ".harbor"

    @staticmethod
    def of_trial(trial: TrialPaths) -> JobPaths:
        """The job a trial directory belongs to."""
        return JobPaths(trial.dir.parent)

    @staticmethod
    def is_job(path: Path) -> bool:
        """A job directory: its config.json (written before any trial runs), or trials."""
        job = JobPaths(path)
        return job.config.is_file() or bool(job.trial_dirs())

    def trial(self, task_id: str, attempt: int) -> TrialPaths:
        return TrialPaths(self.dir / trial_name(task_id, attempt))

    def trial_dirs(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        return sorted(
            p for p in self.dir.iterdir() if p.is_dir() and parse_trial_name(p.name) is not None
        )


@dataclass(frozen=True)
class SuitePaths:
    """A directory of jobs sharing one scenario clock: a suite run, or `jobs/validate/`."""

    dir: Path

    @property
    def name(self) -> str:
        return self.dir.name

    @property
    def scenario_time(self) -> Path:
        return self.dir / "scenario_time.txt"

    @property
    def comparison(self) -> Path:
        return self.dir / "comparison.html"

    @property
    def cache(self) -> Path:
        """Data every job of the suite can share (sidecar data for the suite's one clock)."""
        return self.dir / ".cache"

    @staticmethod
    def of_job(job: JobPaths) -> SuitePaths | None:
        """The suite a job belongs to: its parent, when that holds a suite clock."""
        parent = SuitePaths(job.dir.parent)
        return parent if parent.scenario_time.is_file() else None

    def job(self, name: str) -> JobPaths:
        return JobPaths(self.dir / name)

    def jobs(self) -> list[JobPaths]:
        """The job directories directly inside, by name."""
        if not self.dir.is_dir():
            return []
        return [
            JobPaths(p)
            for p in sorted(self.dir.iterdir())
            if p.is_dir() and not p.name.startswith(".") and JobPaths.is_job(p)
        ]

    @staticmethod
    def for_suite(jobs_root: Path, suite: str, now: datetime) -> SuitePaths:
        """A fresh suite directory name: `suite-<name>-<UTC timestamp>`."""
        return SuitePaths(jobs_root / f"suite-{suite}-{now.strftime('%Y%m%dT%H%M%SZ')}")

    @staticmethod
    def latest(jobs_root: Path, suite: str) -> SuitePaths | None:
        """The newest existing directory of that suite, if any."""
        found = sorted(jobs_root.glob(f"suite-{suite}-*")) if jobs_root.is_dir() else []
        return SuitePaths(found[-1]) if found else None
