"""Harbor's verifier: grade an opsbench task inside its own container.

`tests/test.sh` runs `python3 -m opsbench_grading.incontainer spec.json /logs/verifier`.
The spec is read back as the same `TaskSpec` the compiler wrote, and its checks run through
the same check code the host uses, locally through a subprocess. The task image
(`opsbench-base`) carries pydantic for that; the zip carries the models. Compliance needs
opsbench's audit record and the rubric needs a judge with credentials, neither of which a
Harbor container has: both are recorded as ungraded, never as failures.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

from opsbench.models.spec import AnswerCheck, TaskSpec, TranscriptCheck
from opsbench.models.verdict import CriterionVerdict, GradingDetails, RuleVerdict

from .checks import CheckContext, ExecResult, run_check
from .scoring import Component, score

NEEDS_ANSWER = (TranscriptCheck, AnswerCheck)
"""Grounding and answer checks read the agent's transcript and final answer, which Harbor
does not hand the verifier: ungraded here, never failed."""

UNGRADED = "ungraded (Harbor)"


def _exec(command: str, user: str, timeout: float) -> ExecResult:
    argv = ["bash", "-c", command]
    if user != "root":
        argv = ["runuser", "-u", user, "--", *argv]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return ExecResult(124, "", f"timed out after {timeout}s")
    return ExecResult(proc.returncode, proc.stdout, proc.stderr)


def grade_in_container(spec: TaskSpec) -> GradingDetails:
    """Every verdict Harbor can give: the checks that read only the container's state."""
    ctx = CheckContext(exec=_exec, nonce=secrets.token_hex(12))  # nonce http checks need one
    checks = [run_check(c, ctx) for c in spec.checks if not isinstance(c, NEEDS_ANSWER)]
    rules = [
        RuleVerdict(name=r.name, kind=r.kind, passed=None, message=UNGRADED)
        for r in spec.compliance
    ]
    rubric = [CriterionVerdict.ungraded(c, UNGRADED) for c in spec.rubric]
    components = [Component(v.weight, v.passed) for v in checks]
    components += [Component(c.weight, None) for c in spec.checks if isinstance(c, NEEDS_ANSWER)]
    components += [Component(c.weight, None) for c in rubric]
    result = score(components, [r.passed for r in rules], spec.pass_threshold)
    return GradingDetails(checks=checks, compliance=rules, rubric=rubric, score=result)


def main(argv: list[str]) -> int:
    spec = TaskSpec.model_validate_json(Path(argv[0]).read_bytes())
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    details = grade_in_container(spec)
    (out / "reward.txt").write_text(f"{details.score.reward}\n")
    (out / "reward.json").write_text(details.score.model_dump_json(indent=2) + "\n")
    (out / "grading_details.json").write_text(json.dumps(details.dump(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
