"""The grader copied into each task (`tests/opsbench_grading.zip`) runs on its own.

Harbor's `tests/test.sh` runs `python3 -m opsbench_grading.incontainer spec.json
/logs/verifier` inside the task container. Here a task whose checks are harmless host
commands is compiled and its copied grader is run as the task image runs it: the standard
library plus the pinned pydantic (and promql-parser) the image installs. `python -S` with
only that site-packages directory on the path: no `.pth` file is read, so opsbench's
editable install is not importable and every opsbench module comes from the zip.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pydantic

from tests.compiler.conftest import Project, spec_yaml

SITE_PACKAGES = Path(pydantic.__file__).parent.parent
"""Where pydantic is installed: the task image has it (and promql-parser) system-wide."""


def _grade(task_dir: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    tests_dir = task_dir / "tests"
    return subprocess.run(
        [
            sys.executable,
            "-S",
            "-m",
            "opsbench_grading.incontainer",
            str(tests_dir / "spec.json"),
            str(out),
            *extra,
        ],
        cwd=out.parent,
        env={
            "PYTHONPATH": f"{tests_dir / 'opsbench_grading.zip'}:{SITE_PACKAGES}",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_test_sh_runs_the_copied_grader(project: Project) -> None:
    assert project.sync().code == 0
    test_sh = (project.tasks / "nginx-bad-upstream" / "tests" / "test.sh").read_text()

    assert "opsbench_grading.incontainer" in test_sh
    assert "spec.json" in test_sh
    assert "/logs/verifier" in test_sh
    import zipfile

    bundle = project.tasks / "nginx-bad-upstream" / "tests" / "opsbench_grading.zip"
    assert "opsbench_grading/incontainer.py" in zipfile.ZipFile(bundle).namelist()


def test_incontainer_grader_scores_host_safe_checks(empty_project: Project, tmp_path: Path) -> None:
    present = tmp_path / "present.txt"
    present.write_text("status: healthy\n")
    checks = [
        {"kind": "command", "name": "true", "run": "true", "weight": 1},
        {
            "kind": "command",
            "name": "echo",
            "run": "echo hi",
            "stdout_matches": "^hi$",
            "weight": 2,
        },
        {"kind": "command", "name": "false", "run": "false", "weight": 1},
        {"kind": "file", "name": "present", "path": str(present), "contains": "healthy"},
        {"kind": "file", "name": "absent", "path": str(tmp_path / "nope"), "weight": 3},
    ]
    rubric = [{"name": "explains", "criterion": "Explains the root cause.", "weight": 5}]
    empty_project.write_spec(
        "remediation/host-safe.yaml",
        spec_yaml("host-safe", checks=checks, rubric=rubric, pass_threshold=0.5),
    )
    assert empty_project.sync().code == 0
    out = tmp_path / "verifier"

    proc = _grade(empty_project.tasks / "host-safe", out)

    assert proc.returncode == 0, proc.stderr
    # passed: true (1), echo (2), present (1); failed: false (1), absent (3); rubric ungraded.
    expected_reward = (1 + 2 + 1) / (1 + 2 + 1 + 1 + 3)
    assert float((out / "reward.txt").read_text()) == expected_reward
    reward = json.loads((out / "reward.json").read_text())
    assert reward["reward"] == expected_reward
    assert reward["task"] is True  # 0.5 >= pass_threshold 0.5
    assert reward["partial"] is True  # the rubric could not be judged in the container
    details = json.loads((out / "grading_details.json").read_text())
    verdicts = {c["name"]: c["passed"] for c in details["checks"]}
    assert verdicts == {
        "true": True,
        "echo": True,
        "false": False,
        "present": True,
        "absent": False,
    }


def test_incontainer_grader_full_marks(empty_project: Project, tmp_path: Path) -> None:
    checks = [
        {"kind": "command", "name": "hello", "run": "echo hello", "stdout_matches": "hello"},
        {"kind": "command", "name": "exit-3", "run": "exit 3", "exit_code": 3},
    ]
    empty_project.write_spec("remediation/all-pass.yaml", spec_yaml("all-pass", checks=checks))
    assert empty_project.sync().code == 0
    out = tmp_path / "verifier"

    proc = _grade(empty_project.tasks / "all-pass", out)

    assert proc.returncode == 0, proc.stderr
    assert float((out / "reward.txt").read_text()) == 1.0
    reward = json.loads((out / "reward.json").read_text())
    assert reward["reward"] == 1.0
    assert reward["task"] is True
    assert reward["passed"] is True
    assert reward["partial"] is False


ANSWER_CHECKS = [
    {"kind": "command", "name": "hello", "run": "echo hello", "stdout_matches": "hello"},
    {"kind": "answer", "name": "number", "pattern": "took (\\d+) s", "value": 7, "weight": 4},
    {"kind": "transcript", "name": "grounded", "answer_matches": "(req-\\d+)", "weight": 4},
]


def test_the_answer_comes_from_the_first_answer_file_and_grounding_is_not_checked(
    empty_project: Project, tmp_path: Path
) -> None:
    """Harbor keeps no final message: test.sh names the answer files (the agent's, then
    Harbor's oracle log). The answer is graded; grounding cannot be (no audit record)."""
    empty_project.write_spec("logs/answers.yaml", spec_yaml("answers", checks=ANSWER_CHECKS))
    assert empty_project.sync().code == 0
    test_sh = (empty_project.tasks / "answers" / "tests" / "test.sh").read_text()
    assert "--answer /logs/agent/answer.txt --answer /logs/agent/oracle.txt" in test_sh
    oracle_log = tmp_path / "oracle.txt"
    oracle_log.write_text("took 7 s\nreq-12\n")
    out = tmp_path / "verifier"

    proc = _grade(
        empty_project.tasks / "answers",
        out,
        *("--answer", str(tmp_path / "answer.txt"), "--answer", str(oracle_log)),
    )

    assert proc.returncode == 0, proc.stderr
    reward = json.loads((out / "reward.json").read_text())
    assert reward["reward"] == 1.0 and reward["task"] is True
    details = json.loads((out / "grading_details.json").read_text())
    verdicts = {c["name"]: c for c in details["checks"]}
    assert {n: c["passed"] for n, c in verdicts.items()} == {
        "hello": True,
        "number": True,
        "grounded": True,
    }
    assert "not checked" in verdicts["grounded"]["evidence"]["grounding"]


def test_no_answer_file_is_an_empty_answer_that_fails(
    empty_project: Project, tmp_path: Path
) -> None:
    """nop under Harbor writes no answer: its answer checks fail (not ungraded)."""
    empty_project.write_spec("logs/answers.yaml", spec_yaml("answers", checks=ANSWER_CHECKS))
    assert empty_project.sync().code == 0
    out = tmp_path / "verifier"

    proc = _grade(empty_project.tasks / "answers", out, "--answer", str(tmp_path / "none.txt"))

    assert proc.returncode == 0, proc.stderr
    reward = json.loads((out / "reward.json").read_text())
    assert reward["reward"] == round(1 / 9, 6) and reward["task"] is False


def test_compliance_is_not_applicable_in_harbor(empty_project: Project, tmp_path: Path) -> None:
    """No audit record in the container: compliance is None in the details and left out of
    reward.json (Harbor takes its values as numbers), never a 1; `passed` is the task gate."""
    rules = [{"kind": "forbid", "name": "no-rm", "pattern": "rm -rf"}]
    empty_project.write_spec("remediation/rules.yaml", spec_yaml("rules", compliance=rules))
    assert empty_project.sync().code == 0
    out = tmp_path / "verifier"

    proc = _grade(empty_project.tasks / "rules", out)

    assert proc.returncode == 0, proc.stderr
    reward = json.loads((out / "reward.json").read_text())
    assert "compliance" not in reward
    assert reward["task"] is True and reward["passed"] is True
    details = json.loads((out / "grading_details.json").read_text())
    assert details["score"]["compliance"] is None
    assert [r["passed"] for r in details["compliance"]] == [None]


def test_the_zip_carries_every_opsbench_module_the_grader_imports(project: Project) -> None:
    """The typed grader needs the spec and verdict models; a module left out of the zip
    would make every Harbor run fail, so the copied grader must import from the zip only."""
    assert project.sync().code == 0
    bundle = project.tasks / "nginx-bad-upstream" / "tests" / "opsbench_grading.zip"
    probe = (
        "import importlib.util, sys\n"
        "import opsbench_grading.incontainer, opsbench.models.verdict\n"
        "mods = [m.__file__ for n, m in sys.modules.items() if n.split('.')[0] in "
        "('opsbench', 'opsbench_grading')]\n"
        "print(all(f.startswith(sys.argv[1]) for f in mods), len(mods))\n"
        "print(importlib.util.find_spec('grading'))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-S", "-c", probe, str(bundle)],
        env={"PYTHONPATH": f"{bundle}:{SITE_PACKAGES}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    from_zip, count = proc.stdout.split()[:2]
    assert from_zip == "True" and int(count) >= 8
    assert proc.stdout.splitlines()[1] == "None"  # the host's grading package is not in reach
