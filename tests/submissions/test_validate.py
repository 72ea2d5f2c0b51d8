"""`opsbench submission validate` on a real oracle package, and on that package altered in
every way the issue names: each alteration fails with its own rule and names the file."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsbench.cli import main
from tests.submissions.conftest import Made

pytestmark = pytest.mark.docker

JOB = "no-model-off-oracle-k5"
TRIAL = f"{JOB}/log-dir-permissions-billing__1"
SECRET = "sk-proj-" + "Q7x9Lm2Np4Rs6Tv8Wy0Za1Bc3De5"


def validate(
    made: Made, package: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any], str]:
    code = main(["submission", "validate", str(package), "--release", str(made.release_file)])
    out = capsys.readouterr().out
    report = json.loads(out[out.index("\n{") + 1 :])
    return code, report, out


def failed(report: dict[str, Any]) -> set[str]:
    return {r["rule"] for r in report["rules"] if not r["passed"]}


def problems(report: dict[str, Any], rule: str) -> list[dict[str, str]]:
    return next(r["problems"] for r in report["rules"] if r["rule"] == rule)


def edit_json(path: Path, change: Callable[[Any], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


def test_the_oracle_package_validates(
    made: Made, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, out = validate(made, package, capsys)

    assert code == 0, out
    assert report["passed"] is True and failed(report) == set()
    assert report["trials"] == 15
    rules = [r["rule"] for r in report["rules"]]
    assert {"tasks", "attempts", "settings", "outcomes", "artifacts", "rewards"} <= set(rules)
    assert {"grader-version", "audit", "secrets", "metadata", "release", "symlinks"} <= set(rules)
    assert out.splitlines()[0].startswith("PASS  ")
    rewards = next(r for r in report["rules"] if r["rule"] == "rewards")
    assert rewards["notes"] == ["15 graded trial(s) recomputed from their saved evidence"]


# ------------------------------------------------------------------ alterations


def drop_contact_email(pkg: Path) -> None:
    meta = yaml.safe_load((pkg / "metadata.yaml").read_text())
    del meta["contact"]["email"]
    (pkg / "metadata.yaml").write_text(yaml.safe_dump(meta))


def truncate_result(pkg: Path) -> None:
    path = pkg / TRIAL / "result.json"
    path.write_bytes(path.read_bytes()[:200])


def forbidden_command_hidden_by_edit(pkg: Path) -> None:
    """The agent ran `chmod 777` (compliance fails) and the record was left saying pass."""
    commands = pkg / TRIAL / "agent" / "commands.jsonl"
    entry = {"index": 9, "time": "2026-01-01T00:00:00Z", "command": "chmod 777 /var/log/billing"}
    commands.write_text(commands.read_text() + json.dumps(entry) + "\n")


def raise_reward_json(pkg: Path) -> None:
    edit_json(pkg / TRIAL / "verifier" / "reward.json", lambda d: d.update(reward=0.5))


def flip_check_in_result(pkg: Path) -> None:
    """The check failed at verify time; result.json was edited to say it passed."""

    def fail_first(d: dict[str, Any]) -> None:
        d["checks"][0]["passed"] = False

    edit_json(pkg / TRIAL / "verifier" / "evidence.json", fail_first)


def wrong_release(pkg: Path) -> None:
    meta = yaml.safe_load((pkg / "metadata.yaml").read_text())
    meta["version"] = "0.0.9"
    (pkg / "metadata.yaml").write_text(yaml.safe_dump(meta))


def stale_checksum(pkg: Path) -> None:
    for name in ("result.json", "config.json"):
        edit_json(pkg / TRIAL / name, lambda d: d.update(task_checksum="sha256:" + "0" * 64))


def extra_unknown_task(pkg: Path) -> None:
    src = pkg / TRIAL
    dst = pkg / JOB / "made-up-task__1"
    shutil.copytree(src, dst)
    for name in ("result.json", "config.json"):
        edit_json(dst / name, lambda d: d.update(task_id="made-up-task", trial_name=dst.name))
    commands = dst / "agent" / "commands.jsonl"  # its own run, not a copy of another's
    entry = {"index": 99, "time": "2026-01-02T00:00:00Z", "command": "true"}
    commands.write_text(commands.read_text() + json.dumps(entry) + "\n")


def symlink_outside(pkg: Path) -> None:
    os.symlink("/etc/hostname", pkg / JOB / "notes.txt")


def trajectory_symlinked_outside(pkg: Path) -> None:
    target = pkg / TRIAL / "agent" / "trajectory.json"
    target.unlink()
    os.symlink("/etc/passwd", target)


def too_few_attempts(pkg: Path) -> None:
    shutil.rmtree(pkg / JOB / "nginx-bad-upstream__5")


def cpu_override(pkg: Path) -> None:
    edit_json(pkg / JOB / "config.json", lambda d: d.update(override_cpus=4.0))


def timeout_multiplier_in_a_trial(pkg: Path) -> None:
    edit_json(pkg / TRIAL / "config.json", lambda d: d.update(agent_timeout_multiplier=3.0))


def fewer_attempts_configured(pkg: Path) -> None:
    edit_json(pkg / JOB / "config.json", lambda d: d["variant"].update(n_attempts=3))


def infra_error_trial(pkg: Path) -> None:
    edit_json(pkg / TRIAL / "result.json", lambda d: d.update(outcome="infra_error", rewards=None))


def secret_in_log(pkg: Path) -> None:
    log = pkg / TRIAL / "trial.log"
    log.write_text(log.read_text() + f"env OPENAI_API_KEY={SECRET}\n")


def not_audited(pkg: Path) -> None:
    (pkg / TRIAL / "verifier" / "audit.json").unlink()


def suspect_passes(pkg: Path) -> None:
    flag = {"rule": "path-shadowing", "message": "wrote /usr/local/bin/curl"}
    edit_json(pkg / TRIAL / "verifier" / "audit.json", lambda d: d.update(flags=[flag]))


CASES: dict[str, tuple[Callable[[Path], None], set[str], str, str]] = {
    # alteration: (how, the rules that fail, the rule and file of the telling problem)
    "missing metadata field": (drop_contact_email, {"metadata"}, "metadata", "metadata.yaml"),
    "truncated job": (
        truncate_result,
        {"artifacts", "attempts"},
        "artifacts",
        f"{TRIAL}/result.json",
    ),
    "hand-edited result.json": (
        forbidden_command_hidden_by_edit,
        {"rewards"},
        "rewards",
        f"{TRIAL}/result.json",
    ),
    "tampered reward.json": (
        raise_reward_json,
        {"rewards"},
        "rewards",
        f"{TRIAL}/verifier/reward.json",
    ),
    "check failed, result says pass": (
        flip_check_in_result,
        {"rewards"},
        "rewards",
        f"{TRIAL}/result.json",
    ),
    "wrong release": (wrong_release, {"release"}, "release", "metadata.yaml"),
    "stale task checksum": (stale_checksum, {"tasks"}, "tasks", f"{TRIAL}/result.json"),
    "extra unknown task": (extra_unknown_task, {"tasks"}, "tasks", "."),
    "symlink pointing outside": (symlink_outside, {"symlinks"}, "symlinks", f"{JOB}/notes.txt"),
    "too few attempts": (too_few_attempts, {"attempts"}, "attempts", "."),
    "resource override": (cpu_override, {"settings"}, "settings", f"{JOB}/config.json"),
    "timeout multiplier": (
        timeout_multiplier_in_a_trial,
        {"settings"},
        "settings",
        f"{TRIAL}/config.json",
    ),
    "attempts configured below the minimum": (
        fewer_attempts_configured,
        {"attempts"},
        "attempts",
        f"{JOB}/config.json",
    ),
    "infra_error trial": (infra_error_trial, {"outcomes"}, "outcomes", f"{TRIAL}/result.json"),
    "a secret": (secret_in_log, {"secrets"}, "secrets", f"{TRIAL}/trial.log"),
    "passing trial not audited": (
        not_audited,
        {"audit"},
        "audit",
        f"{TRIAL}/verifier/audit.json",
    ),
    "suspect passes over the threshold": (suspect_passes, {"audit"}, "audit", "."),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_alteration_fails_its_rule(
    case: str, made: Made, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alter, rules, rule, file = CASES[case]
    alter(package)

    code, report, out = validate(made, package, capsys)

    assert code == 1, out
    assert report["passed"] is False
    assert failed(report) == rules, out
    assert problems(report, rule)[0]["file"] == file, out
    assert f"FAIL  {rule}: " in out


def test_a_secret_is_reported_masked(
    made: Made, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret_in_log(package)

    _, report, out = validate(made, package, capsys)

    found = [p["message"] for p in problems(report, "secrets")]
    assert len(found) == 2, found
    assert re.fullmatch(r"line (\d+): api-key-value API_…\(44 chars\)", found[0])
    assert found[1] == found[0].split(":")[0] + ": openai-key sk-p…(36 chars)"
    assert SECRET not in out and SECRET[8:] not in out


def test_suspect_passes_are_listed(
    made: Made, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suspect_passes(package)

    _, report, _ = validate(made, package, capsys)

    audit = next(r for r in report["rules"] if r["rule"] == "audit")
    assert audit["notes"] == [f"suspect: {TRIAL}: path-shadowing"]
    assert "1 of 15 passing trials flagged suspect" in audit["problems"][0]["message"]


def test_a_symlinked_trajectory_is_never_read(
    made: Made, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trajectory_symlinked_outside(package)

    code, report, out = validate(made, package, capsys)

    assert code == 1
    assert {"symlinks", "artifacts", "rewards"} <= failed(report)
    assert "/etc/passwd" in out and "(outside the package)" in out
    assert "root:x:0:0" not in out


def test_garbage_everywhere_gives_verdicts_not_a_traceback(
    made: Made, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (package / "metadata.yaml").write_text("- just\n- a list\n")
    (package / TRIAL / "result.json").write_text("[]")
    (package / JOB / "config.json").write_text("{not json")
    other = package / JOB / "nginx-bad-upstream__1"
    (other / "agent" / "commands.jsonl").write_text('{"no": "index"}\n[1, 2]\n')
    (other / "verifier" / "evidence.json").write_text('"a string"')
    (other / "verifier" / "reward.txt").write_text("lots\n")
    (other / "verifier" / "audit.json").write_bytes(b"\xff\xfe")

    code, report, out = validate(made, package, capsys)

    assert code == 1
    assert {"metadata", "artifacts", "settings", "rewards", "audit"} <= failed(report)
    assert "Traceback" not in out
    assert all(r["problems"] for r in report["rules"] if not r["passed"])


def test_hostile_files_are_refused_without_expanding_them(
    made: Made, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    (package / "metadata.yaml").write_text("\n".join(levels) + "\n")
    (package / TRIAL / "result.json").write_text("[" * 200_000)

    code, report, _ = validate(made, package, capsys)

    assert code == 1
    assert problems(report, "metadata") == [
        {"file": "metadata.yaml", "message": "YAML aliases (*name) are not allowed"}
    ]
    (artifact,) = [p for p in problems(report, "artifacts") if p["file"].endswith("result.json")]
    assert artifact["file"] == f"{TRIAL}/result.json"


def test_a_package_without_metadata_or_jobs(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()

    code, report, _ = validate(made, empty, capsys)

    assert code == 1
    assert problems(report, "metadata") == [{"file": "metadata.yaml", "message": "missing"}]
    assert problems(report, "jobs")[0]["message"] == "no job directory in the package"
    assert "task log-dir-permissions-billing of the release is missing" in [
        p["message"] for p in problems(report, "tasks")
    ]


def test_a_job_copied_to_double_its_attempts(
    made: Made, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(package / JOB, package / "second-run")

    code, report, _ = validate(made, package, capsys)

    assert code == 1
    copies = [p for p in problems(report, "jobs") if p["message"].startswith("a copy of ")]
    assert len(copies) == 15
    assert copies[0]["message"] == f"a copy of {TRIAL}/agent/commands.jsonl"
    assert any(
        "says job no-model-off-oracle-k5 but sits in second-run" in p["message"]
        for p in problems(report, "artifacts")
    )
