"""A trial never raises out of its own finish: teardown runs even when its dir is gone."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from opsbench.models.result import Outcome
from opsbench.paths import ProjectPaths
from tests.runtime.conftest import TrialRunner, leftovers, write_spec
from tests.runtime.test_trials import SIMPLE


def test_trial_dir_moved_away_mid_trial_still_tears_down(
    project: ProjectPaths, run_task: TrialRunner, tmp_path: Path
) -> None:
    write_spec(project, "basic", "touch-file", SIMPLE)
    trial_dir = project.jobs / "moved" / "touch-file__1"
    elsewhere = tmp_path / "moved-away"
    cancel = threading.Event()

    def move_then_cancel() -> None:
        deadline = time.monotonic() + 120
        while not (trial_dir / "agent").is_dir() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # the agent phase is running
        shutil.move(trial_dir, elsewhere)
        cancel.set()

    mover = threading.Thread(target=move_then_cancel)
    mover.start()
    result, _ = run_task(
        "touch-file", "tests.runtime.probe_agents:SleepAgent", job="moved", cancel=cancel
    )
    mover.join()

    assert result.outcome == Outcome.CANCELLED
    assert leftovers("moved") == ([], [])
    assert not trial_dir.exists(), "a result.json was planted in a recreated trial dir"
    assert (elsewhere / "config.json").is_file()  # what was moved is intact
