"""`opsbench leaderboard build`: the oracle package ranked, a tampered copy listed apart
with its reason, and the page in real headless Chromium (offline, no console errors)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from opsbench.cli import main
from tests.reporting.report_browser import Chrome
from tests.submissions.conftest import PACKAGE_NAME, Made

pytestmark = pytest.mark.docker

JOB = "no-model-off-oracle-k5"
XSS = "<script>window.__xss = 1</script>"


@pytest.fixture
def site(made: Made, tmp_path: Path) -> Path:
    """A submissions tree with the oracle package (a script in its model's name) and a
    copy with a tampered reward."""
    root = tmp_path / "repo" / "submissions" / "opsbench" / "0.1.0"
    good = root / PACKAGE_NAME
    shutil.copytree(made.package, good)
    meta = yaml.safe_load((good / "metadata.yaml").read_text())
    meta["model"]["display_name"] = f"No model {XSS}"
    (good / "metadata.yaml").write_text(yaml.safe_dump(meta))
    bad = root / "tampered__none"
    shutil.copytree(made.package, bad)
    reward = bad / JOB / "nginx-bad-upstream__2" / "verifier" / "reward.json"
    reward.write_text(json.dumps({**json.loads(reward.read_text()), "reward": 0.25}))
    out = tmp_path / "site"
    code = main(
        [
            *("leaderboard", "build", str(tmp_path / "repo")),
            *("--out", str(out), "--release", str(made.release_file)),
        ]
    )
    assert code == 0
    return out


def test_leaderboard_json_ranks_valid_and_lists_invalid(site: Path) -> None:
    data = json.loads((site / "leaderboard.json").read_text())

    assert data["release"]["version"] == "0.1.0" and data["release"]["tasks"] == 3
    (entry,) = data["entries"]
    assert entry["package"] == f"submissions/opsbench/0.1.0/{PACKAGE_NAME}"
    assert entry["rank"] == 1 and entry["trials"] == 15
    assert (
        entry["pass_rate"]["value"] == 1.0 and entry["pass_rate"]["interval"]["method"] == "wilson"
    )
    assert entry["pass_rate"]["interval"]["low"] == pytest.approx(0.796, abs=1e-3)
    assert entry["by_category"] == {"remediation": entry["pass_rate"]}
    assert entry["cost_per_trial_usd"] == 0.0
    (report,) = entry["run_reports"]
    assert (site / report).is_file()
    (invalid,) = data["invalid"]
    assert invalid["package"].endswith("tampered__none")
    assert invalid["reasons"][0].startswith(
        f"rewards: {JOB}/nginx-bad-upstream__2/verifier/reward.json: says reward 0.25"
    )


def test_leaderboard_in_chromium(chrome: Chrome, site: Path) -> None:
    chrome.open((site / "leaderboard.html").as_uri())

    assert chrome.errors() == []
    assert chrome.eval("document.querySelectorAll('#leaderboard-table tbody tr').length") == 1
    row = "document.querySelector('#leaderboard-table tbody tr')"
    assert chrome.eval(f"{row}.dataset.package").endswith(PACKAGE_NAME)
    assert "100.0%" in chrome.eval(f"{row}.querySelector('[data-metric=passed]').innerText")
    assert chrome.eval(f"{row}.querySelectorAll('td[data-category]').length") == 1
    assert chrome.eval("document.getElementById('release-version').textContent") == (
        "opsbench 0.1.0"
    )
    invalid = chrome.eval("document.getElementById('invalid-table').innerText")
    assert "tampered__none" in invalid and "says reward 0.25" in invalid
    assert XSS in chrome.eval(f"{row}.innerText")
    assert chrome.eval("typeof window.__xss") == "undefined"
    href = chrome.eval(f"{row}.querySelector('a.report-link').href")
    chrome.open(href)
    assert chrome.wait_until("document.querySelectorAll('tr.task-row').length") == 3
    assert chrome.errors() == []
