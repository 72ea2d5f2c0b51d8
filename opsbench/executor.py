"""Run a job's planned trials with bounded concurrency, cancellation and a pause file.

Trials run in worker threads (each trial mostly waits on Docker and model calls). Ctrl-C
stops launching, cancels the in-flight trials (they tear down and record `cancelled`) and
the job exits 130; a second Ctrl-C forces. A pause file stops launching new trials; the
job exits cleanly when the in-flight ones finish and continues when rerun.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

from opsbench.display import Display
from opsbench.errors import OpsbenchError
from opsbench.models.result import TrialResult
from opsbench.models.trial import TrialConfig

log = logging.getLogger(__name__)

Item = TypeVar("Item")


@dataclass
class RunReport:
    results: list[TrialResult] = field(default_factory=list)
    paused: bool = False
    cancelled: bool = False
    not_started: int = 0
    engine_unavailable: bool = False


def run_all(
    items: list[Item],
    run_one: Callable[[Item, threading.Event], TrialResult],
    n_concurrent: int,
    cancel: threading.Event,
    pause_files: list[Path],
    display: Display,
) -> RunReport:
    from opsbench.engine_wait import EngineGate

    report, gate = RunReport(), EngineGate(display.message)
    queue = list(items)
    running: dict[Future[TrialResult], Any] = {}
    with ThreadPoolExecutor(max_workers=max(1, n_concurrent)) as pool:
        while queue or running:
            while queue and len(running) < n_concurrent and not cancel.is_set():
                paused = next((p for p in pause_files if p.exists()), None)
                if paused is not None:
                    if not report.paused:
                        display.message(f"pause file {paused} found: launching no new trials")
                    report.paused = True
                    break
                if not gate.may_launch(cancel):  # the engine is down: wait, or stop launching
                    report.engine_unavailable = True
                    break
                item = queue.pop(0)
                running[pool.submit(run_one, item, cancel)] = item
                display.trial_started()
            if not running:
                break
            done, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in done:
                running.pop(fut)
                try:
                    result = fut.result()
                except Exception:
                    log.exception("trial crashed outside its own error handling")
                    continue
                report.results.append(result)
                gate.saw(result.outcome)
                display.trial_finished(result)
    report.cancelled = cancel.is_set()
    report.not_started = len(queue)
    return report


# --------------------------------------------------------------------------- where trials run


class Executor(ABC):
    """Where trials run: threads on this machine (`LocalExecutor`) or the nodes of a Ray
    cluster (`opsbench.cluster.executor.RayExecutor`). Chosen once per command
    (`make_executor`); `run_all` drives either, so concurrency, the pause file and
    Ctrl-C behave the same. Whatever runs a trial, the trial directory ends up under
    `jobs/<job>/` with `result.json` written last."""

    name = "executor"

    def prepare(self, job_names: list[str]) -> None:
        """Before any trial: remove what killed runs of these jobs left behind."""
        from opsbench.runtime.docker import remove_leftovers

        for job in job_names:
            remove_leftovers(job)

    @abstractmethod
    def run_trial(
        self, config: TrialConfig, trial_dir: Path, cancel: threading.Event
    ) -> TrialResult:
        """Run one trial to its recorded result (never raises for a trial's failure)."""

    def close(self) -> None:  # noqa: B027 - an optional hook; the local executor holds nothing
        """Release what the executor holds (a cluster connection)."""


class LocalExecutor(Executor):
    """Each trial in a thread of this process, against this machine's Docker engine."""

    name = "local"

    def run_trial(
        self, config: TrialConfig, trial_dir: Path, cancel: threading.Event
    ) -> TrialResult:
        from opsbench.trial.run import run_trial

        return run_trial(config, trial_dir, cancel)


EXECUTORS = ("local", "ray")


def make_executor(kind: str, ray_address: str | None, project_root: Path) -> Executor:
    """The executor `--executor` names. Ray is imported only when it is chosen."""
    if kind == "local":
        if ray_address:
            raise OpsbenchError("--ray-address needs --executor ray")
        return LocalExecutor()
    if kind == "ray":
        from opsbench.cluster.executor import RayExecutor

        return RayExecutor(ray_address, project_root / "environment")
    raise OpsbenchError(f"--executor: unknown executor {kind!r}; known: {', '.join(EXECUTORS)}")


@overload
def opened_executor(
    kind: str, ray_address: str | None, project_root: Path, dry_run: Literal[False] = False
) -> contextlib.AbstractContextManager[Executor]: ...


@overload
def opened_executor(
    kind: str, ray_address: str | None, project_root: Path, dry_run: bool
) -> contextlib.AbstractContextManager[Executor | None]: ...


def opened_executor(
    kind: str, ray_address: str | None, project_root: Path, dry_run: bool = False
) -> contextlib.AbstractContextManager[Executor | None]:
    """A command's executor, closed however the command ends; none for a dry run.

    Commands open it before compiling: a cluster executor connects in the background
    meanwhile, so its start-up overlaps the compile and the planning.
    """
    if dry_run:
        return contextlib.nullcontext()
    return contextlib.closing(make_executor(kind, ray_address, project_root))
