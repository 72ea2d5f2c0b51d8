"""How long `opsbench submission validate` takes on a 2,000-trial package (target ≤ 10 s),
reward recomputation included.

A synthetic package: every task of the corpus (compiled in memory) × enough attempts for
2,000+ trials, each trial with a realistic record (15 commands, a 30-step trajectory,
evidence for every check, saved rubric verdicts, an audit record) and rewards computed by
the grader itself, so the package is valid and every rule does its full work.

    uv run python benchmarks/submission_validate_bench.py [--trials N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from grading.grader import GradingInput, grade  # noqa: E402
from opsbench.compile import compile_all  # noqa: E402
from opsbench.models.audit import TrialAudit  # noqa: E402
from opsbench.models.job import JobConfig, Variant  # noqa: E402
from opsbench.models.result import Outcome, Rewards, TrialResult, VariantInfo  # noqa: E402
from opsbench.models.trajectory import (  # noqa: E402
    AtifAgent,
    Observation,
    ObservationResult,
    Step,
    ToolCall,
    Trajectory,
)
from opsbench.models.trial import TrialConfig  # noqa: E402
from opsbench.paths import ProjectPaths, TrialPaths, trial_name  # noqa: E402
from opsbench.release import ReleaseIdentity, build_manifest  # noqa: E402
from opsbench.sandbox import CommandRecord  # noqa: E402
from opsbench.submission.validate import validate_package  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)
JOB = "openai-synthetic-off-k"


def commands() -> list[CommandRecord]:
    return [
        CommandRecord(
            i, T0.isoformat(), f"cat /var/log/app-{i}.log | tail -n 50", 0, "log line\n" * 40
        )
        for i in range(1, 16)
    ]


def trajectory() -> Trajectory:
    steps = [Step(step_id=1, source="user", message="Fix the service.")]
    for i in range(2, 31):
        steps.append(
            Step(
                step_id=i,
                source="agent",
                message=f"Looking at step {i}.",
                reasoning_content="Check the logs, then the config. " * 8,
                tool_calls=[
                    ToolCall(
                        tool_call_id=f"c{i}",
                        function_name="bash",
                        arguments={"command": "ls -la /etc"},
                    )
                ],
                observation=Observation(
                    results=[
                        ObservationResult(
                            source_call_id=f"c{i}", content="drwxr-xr-x root root\n" * 30
                        )
                    ]
                ),
            )
        )
    steps.append(Step(step_id=31, source="agent", message="Fixed: the upstream port was wrong."))
    return Trajectory(agent=AtifAgent(name="synthetic", version="1"), steps=steps)


def saved_judge(
    spec: dict[str, Any], traj: Trajectory | None, facts: dict[str, str]
) -> list[dict[str, Any]]:
    return [
        {
            "name": c["name"],
            "criterion": c["criterion"],
            "weight": c["weight"],
            "verdict": "yes",
            "explanation": "ok",
        }
        for c in spec.get("rubric", [])
    ]


def template(spec: dict[str, Any]) -> dict[str, Any]:
    """One trial's files (except the per-attempt result and config) and its rewards."""
    cmds, traj = commands(), trajectory()
    checks = [
        {
            "name": c["name"],
            "kind": c["kind"],
            "weight": float(c["weight"]),
            "passed": True,
            "message": "ok",
            "evidence": {"stdout": "ok\n" * 200},
        }
        for c in spec.get("checks", [])
    ]
    evidence = {"spec": spec, "checks": checks, "facts": {}}
    graded = grade(
        GradingInput(
            spec=spec,
            commands=cmds,
            trajectory=traj,
            exec=None,
            saved_evidence=evidence,
            judge=saved_judge,
        )
    )
    return {
        "rewards": Rewards(**graded.score.to_dict()),
        "agent/commands.jsonl": "".join(json.dumps(c.to_dict()) + "\n" for c in cmds),
        "agent/trajectory.json": traj.model_dump_json(indent=2),
        "verifier/evidence.json": json.dumps(evidence, indent=2),
        "verifier/grading_details.json": json.dumps(graded.details, indent=2),
        "verifier/reward.json": json.dumps(graded.score.to_dict(), indent=2),
        "verifier/reward.txt": f"{graded.score.reward}\n",
        "trial.log": "00:00:00.000 phase agent: ok\n" * 40,
    }


def build(root: Path, n_trials: int) -> tuple[Path, Any]:
    project = ProjectPaths(REPO)
    release = build_manifest(project, ReleaseIdentity("opsbench", "bench"))
    specs = {t.task_id: json.loads(t.files["tests/spec.json"]) for t in compile_all(project)}
    attempts = max(release.min_attempts, math.ceil(n_trials / len(specs)))
    pkg = root / "submissions" / "opsbench" / "bench" / "synthetic__model"
    job = pkg / f"{JOB}{attempts}"
    job.mkdir(parents=True)
    variant = Variant(model="openai/synthetic", agent="sre", n_attempts=attempts)
    (job / "config.json").write_text(
        JobConfig(job_name=job.name, variant=variant).model_dump_json(indent=2)
    )
    (pkg / "metadata.yaml").write_text(METADATA)
    for number, task in enumerate(release.tasks):
        files = template(specs[task.id])
        rewards: Rewards = files.pop("rewards")
        for attempt in range(1, attempts + 1):
            name = trial_name(task.id, attempt)
            paths = TrialPaths(job / name)
            paths.make()
            for rel, text in files.items():
                (paths.dir / rel).write_text(text)
            # Each attempt ran at its own time (identical records would be copies).
            when = (T0 + timedelta(days=number, minutes=attempt)).isoformat()
            paths.commands.write_text(files["agent/commands.jsonl"].replace(T0.isoformat(), when))
            result = TrialResult(
                trial_name=name,
                job_name=job.name,
                task_id=task.id,
                attempt=attempt,
                task_checksum=task.checksum,
                category=task.category,
                variant=VariantInfo(model=variant.model, reasoning_effort="off", agent="sre"),
                outcome=Outcome.GRADED,
                started_at=T0,
                finished_at=T0 + timedelta(seconds=90),
                rewards=rewards,
            )
            paths.result.write_text(result.model_dump_json(indent=2))
            config = TrialConfig(
                job_name=job.name,
                trial_name=name,
                task_id=task.id,
                attempt=attempt,
                task_dir=f"/tasks/{task.id}",
                task_checksum=task.checksum,
                agent="sre",
                model=variant.model,
                scenario_time=T0,
            )
            paths.config.write_text(config.model_dump_json(indent=2))
            if rewards.passed:
                paths.audit.write_text(TrialAudit(trial_name=name, passed=True).model_dump_json())
    return pkg, release


METADATA = """\
benchmark: opsbench
version: bench
agent: {name: synthetic, display_name: Synthetic, organisation: bench, url: "https://example.org"}
model: {name: model, display_name: Model, organisation: bench, url: "https://example.org"}
contact: {name: Bench, email: bench@example.org}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--keep", type=Path, help="build the package here and keep it")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="opsbench-submission-bench-"))
    try:
        pkg, release = build(root, args.trials)
        started, cpu = time.perf_counter(), time.process_time()
        report = validate_package(pkg, release)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    failed = [f"{v.rule}: {v.problems[0].file}: {v.problems[0].message}" for v in report.failures()]
    print(
        f"validated {report.trials:,} trials in {seconds:.2f} s wall, {cpu:.2f} s CPU "
        f"(target <= 10 s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores), "
        "reward recomputation and secrets scan included"
    )
    print("valid" if report.passed else "INVALID: " + "; ".join(failed))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
