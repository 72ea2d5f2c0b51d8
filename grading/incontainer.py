"""Harbor's verifier: grade an opsbench task inside its own container.

`tests/test.sh` runs `python3 -m opsbench_grading.incontainer spec.json /logs/verifier`.
Checks run locally through a subprocess (the same check code the host uses). Compliance
needs opsbench's audit record and the rubric needs a judge with credentials, neither of
which a Harbor container has: both are recorded as ungraded, never as failures.
Standard library only.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .checks import CheckContext, ExecResult, run_check
from .scoring import Component, score


def _exec(command: str, user: str, timeout: float) -> ExecResult:
    argv = ["bash", "-c", command]
    if user != "root":
        argv = ["runuser", "-u", user, "--", *argv]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return ExecResult(124, "", f"timed out after {timeout}s")
    return ExecResult(proc.returncode, proc.stdout, proc.stderr)


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    ctx = CheckContext(exec=_exec)
    # Grounding and answer checks read the agent's transcript and final answer, which
    # Harbor does not hand the verifier: ungraded here, never failed.
    needs_answer = ("transcript", "answer")
    verdicts = [run_check(c, ctx) for c in spec["checks"] if c["kind"] not in needs_answer]
    components = [Component(v.weight, v.passed) for v in verdicts]
    components += [
        Component(float(c["weight"]), None) for c in spec["checks"] if c["kind"] in needs_answer
    ]
    components += [Component(float(c["weight"]), None) for c in spec["rubric"]]
    result = score(components, [], float(spec.get("pass_threshold", 1.0)))
    (out / "reward.txt").write_text(f"{result.reward}\n")
    (out / "reward.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    details = {"checks": [v.to_dict() for v in verdicts], "compliance": "ungraded (Harbor)"}
    (out / "grading_details.json").write_text(json.dumps(details, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
