"""Harbor's verifier: grade an opsbench task inside its own container.

`tests/test.sh` runs `python3 -m opsbench_grading.incontainer spec.json /logs/verifier
--scenario-time T --answer FILE...`. The spec is read back as the same `TaskSpec` the
compiler wrote, and its checks run through the same check code the host uses, locally
through a subprocess. The task image (`opsbench-base`) carries pydantic for that; the zip
carries the models.

What Harbor does not hand its verifier is graded as far as it can be:
- the final answer: Harbor keeps no final message, so the answer is the first `--answer`
  file that exists (the one the instruction asks for, else Harbor's oracle log); none is
  an empty answer, which fails its checks as it would on opsbench;
- grounding (did a command return the cited value): there is no audit record, so it is
  not checked, and the evidence says so;
- compliance needs the audit record and is not applicable (None, left out of
  `reward.json`, whose values Harbor requires to be numbers); the rubric needs a judge
  with credentials and is ungraded, never a failure.
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
from pathlib import Path

from opsbench.models.spec import TaskSpec
from opsbench.models.verdict import CriterionVerdict, GradingDetails, RuleVerdict

from .checks import CheckContext, ExecResult, run_check
from .scoring import Component, score

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


def grade_in_container(
    spec: TaskSpec, scenario_time: float | None = None, final_answer: str = ""
) -> GradingDetails:
    """Every verdict Harbor can give: every check (grounding aside); compliance not
    applicable, the rubric ungraded."""
    ctx = CheckContext(
        exec=_exec,
        nonce=secrets.token_hex(12),  # nonce http checks need one
        scenario_time=scenario_time,
        final_answer=final_answer,
        grounding=False,
    )
    checks = [run_check(c, ctx) for c in spec.checks]
    rules = [
        RuleVerdict(name=r.name, kind=r.kind, passed=None, message=UNGRADED)
        for r in spec.compliance
    ]
    rubric = [CriterionVerdict.ungraded(c, UNGRADED) for c in spec.rubric]
    components = [Component(v.weight, v.passed) for v in checks]
    components += [Component(c.weight, None) for c in rubric]
    result = score(components, None, spec.pass_threshold)
    return GradingDetails(checks=checks, compliance=rules, rubric=rubric, score=result)


def read_answer(paths: list[Path]) -> str:
    """The first answer file that exists ('' when none does)."""
    for path in paths:
        if path.is_file():
            return path.read_text(encoding="utf-8", errors="replace")
    return ""


def _instant(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="opsbench_grading.incontainer")
    p.add_argument("spec", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--scenario-time", type=_instant, help="ISO 8601: PromQL is queried at it")
    p.add_argument("--answer", type=Path, action="append", default=[], help="answer files")
    args = p.parse_args(argv)
    spec = TaskSpec.model_validate_json(args.spec.read_bytes())
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    details = grade_in_container(spec, args.scenario_time, read_answer(args.answer))
    (out / "reward.txt").write_text(f"{details.score.reward}\n")
    # Harbor takes every reward.json value as a number: not applicable is left out.
    rewards = details.score.model_dump_json(indent=2, exclude_none=True)
    (out / "reward.json").write_text(rewards + "\n")
    (out / "grading_details.json").write_text(json.dumps(details.dump(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
