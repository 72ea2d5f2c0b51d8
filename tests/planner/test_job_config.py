"""One JobConfig builder: flags and suite files set the same things, errors name their
source, and a variant that cannot be honoured is refused before any trial starts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.compiler.conftest import CliResult, copy_project

TASK = "log-dir-permissions-billing"


@pytest.fixture
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = copy_project(tmp_path / "proj")
    monkeypatch.chdir(root)
    return root


def _suite(root: Path, body: dict[str, object]) -> Path:
    path = root / "suites" / "mine.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump({"schema_version": 1, "name": "mine", **body}))
    return path


def test_a_bad_flag_value_names_the_flag(proj: Path, run_cli: Callable[..., CliResult]) -> None:
    result = run_cli("job", "--agent", "nop", "--rate-limit", "fast", "--dry-run")

    assert result.code == 2
    assert result.err_lines == ["--rate-limit: expected 'N/seconds' like '500/60', found 'fast'"]
    assert not (proj / "jobs").exists()


def test_a_judge_that_is_not_provider_model_is_refused(
    proj: Path, run_cli: Callable[..., CliResult]
) -> None:
    result = run_cli("job", "--agent", "nop", "--judge-model", "gpt-4o", "--dry-run")

    assert result.code == 2
    assert result.err_lines[0].startswith("--judge-model: provider/model")


def test_an_effort_the_model_cannot_honour_is_refused_in_the_dry_run(
    proj: Path, run_cli: Callable[..., CliResult]
) -> None:
    """gpt-4o-mini does not reason: `high` would end every trial as provider_error."""
    result = run_cli(
        "job", "--model", "openai/gpt-4o-mini", "--reasoning-effort", "high", "--dry-run"
    )

    assert result.code == 2
    assert result.err_lines[0].startswith("--reasoning-effort: cannot be honoured")
    assert "gpt-4o-mini" in result.err
    assert not (proj / "jobs").exists()
    assert not (proj / "tasks").exists(), "refused before compiling anything"


def test_suite_errors_name_the_file_and_the_field(
    proj: Path, run_cli: Callable[..., CliResult]
) -> None:
    suite = _suite(
        proj,
        {
            "variants": [
                {"agent": "nop", "provider": {"rate_limit": "lots"}},
                {"agent": "oracle", "override_cpu": 2},
            ]
        },
    )

    result = run_cli("suite", "--suite", str(suite), "--dry-run")

    assert result.code == 2
    assert result.err_lines[0] == (
        f"{suite}: variants[0].provider.rate_limit: expected 'N/seconds' like '500/60', "
        "found 'lots'"
    )
    assert result.err_lines[1].startswith(
        f"{suite}: variants[1].override_cpu: a known field, found unknown field "
        "'override_cpu' (did you mean 'override_cpus'?)"
    )


def test_a_suite_variant_that_cannot_be_honoured_is_refused_before_any_trial(
    proj: Path, run_cli: Callable[..., CliResult]
) -> None:
    suite = _suite(
        proj,
        {
            "variants": [
                {"agent": "nop"},
                {"model": "openai/gpt-4o-mini", "reasoning_effort": ["off", "high"]},
            ]
        },
    )

    result = run_cli("suite", "--suite", str(suite), "--dry-run")

    assert result.code == 2
    assert result.err_lines[0].startswith(
        f"{suite}: variants[2]: reasoning_effort: cannot be honoured"
    )


@pytest.mark.docker
def test_suite_limits_and_overrides_reach_the_trial_config(
    proj: Path, run_cli: Callable[..., CliResult]
) -> None:
    """Set once for the suite, overridden by one variant, field by field."""
    suite = _suite(
        proj,
        {
            "n_attempts": 1,
            "override_cpus": 0.5,
            "provider": {"rate_limit": "10/60", "max_retries": 2},
            "variants": [
                {"agent": "nop", "override_memory_mb": 256, "provider": {"max_retries": 4}},
            ],
        },
    )

    result = run_cli("suite", "--suite", str(suite), "--task-name", TASK, "--quiet")

    assert result.code == 0, result.err
    (job,) = [p for p in (proj / "jobs").glob("suite-mine-*/*") if p.is_dir()]
    trial = json.loads((job / f"{TASK}__1" / "config.json").read_text())
    for config in (trial, json.loads((job / "config.json").read_text())):
        assert config["override_cpus"] == 0.5
        assert config["override_memory_mb"] == 256
        assert config["provider_settings"]["rate_limit"] == {"calls": 10, "window_seconds": 60}
        assert config["provider_settings"]["max_retries"] == 4
    outcome = json.loads((job / f"{TASK}__1" / "result.json").read_text())["outcome"]
    assert outcome == "graded"
    log = (job / f"{TASK}__1" / "trial.log").read_text()
    assert "cpus=0.5, memory=256MB" in log
