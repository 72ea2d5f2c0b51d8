"""Real Docker: the trial lifecycle's guarantees, end to end."""

from __future__ import annotations

import hashlib
import json
import threading
import time

import pytest

from opsbench.models.result import Outcome
from opsbench.paths import ProjectPaths
from tests.runtime.conftest import TrialRunner, leftovers, write_spec

SIMPLE = """
id: touch-file
title: create a file
category: basic
difficulty: easy
statement: Create /root/done containing the word done.
environment:
  resources: {cpus: 0.5, memory_mb: 128, pids: 64}
  timeouts: {agent_sec: 20}
prepare:
  - run: echo prepared > /root/prepared
solution:
  - run: echo done > /root/done
checks:
  - kind: file
    name: done-file
    path: /root/done
    contains: done
"""

WITH_SIDECAR = """
id: sidecar-{{ marker }}
title: talk to the sidecar
category: basic
difficulty: easy
statement: Fetch http://web:8000/marker.txt and write it to /root/marker.
environment:
  timeouts: {agent_sec: 30, provision_sec: 30}
  custom_sidecars:
    - name: web
      image: opsbench-base:2
      port: 8000
      command: ["bash", "-c", "mkdir -p /srv && echo {{ marker }} > /srv/marker.txt && cd /srv && exec python3 -m http.server 8000"]
      healthcheck: "curl -sf http://localhost:8000/marker.txt"
solution:
  - run: curl -sf http://web:8000/marker.txt > /root/marker
checks:
  - kind: command
    name: marker
    run: cat /root/marker
    stdout_matches: "^{{ marker }}$"
"""


@pytest.fixture
def simple(project: ProjectPaths) -> ProjectPaths:
    write_spec(project, "basic", "touch-file", SIMPLE)
    return project


def test_oracle_passes_and_nop_fails(simple: ProjectPaths, run_task: TrialRunner) -> None:
    good, paths = run_task("touch-file", "oracle", job="calib-oracle")
    assert good.outcome == Outcome.GRADED
    assert good.rewards is not None and good.rewards.passed and good.rewards.reward == 1.0
    bad, _ = run_task("touch-file", "nop", job="calib-nop")
    assert bad.outcome == Outcome.GRADED
    assert bad.rewards is not None and not bad.rewards.task and bad.rewards.reward == 0.0
    # Harbor-compatible artifacts, result.json last
    for f in (
        paths.config,
        paths.instruction,
        paths.trajectory,
        paths.commands,
        paths.reward_txt,
        paths.reward_json,
        paths.grading_details,
        paths.log,
    ):
        assert f.is_file(), f
    assert paths.reward_txt.read_text().strip() == "1.0"
    audit = [json.loads(line) for line in paths.commands.read_text().splitlines()]
    assert any("echo done > /root/done" in a["command"] for a in audit)
    assert all(k in audit[0] for k in ("time", "command", "exit_code", "duration_sec", "stdout"))
    timings = json.loads(paths.result.read_text())["phases"]
    assert {"preflight", "provision", "prepare", "agent", "verify", "restore"} <= set(timings)
    assert leftovers("calib-oracle") == ([], []) and leftovers("calib-nop") == ([], [])


def test_agent_cannot_see_tests_or_solution(simple: ProjectPaths, run_task: TrialRunner) -> None:
    probe = {
        "find": "find / -xdev \\( -name spec.json -o -name solve.sh -o -name test.sh "
        "-o -name prepare.sh \\) 2>/dev/null",
        "grep": "grep -rls 'echo done > /root/done' / --exclude-dir=proc --exclude-dir=sys "
        "2>/dev/null | head",
        "prepared": "cat /root/prepared",
    }
    result, paths = run_task("touch-file", "tests.runtime.probe_agents:ProbeAgent", commands=probe)
    seen = json.loads((paths.agent / "probe.json").read_text())
    assert seen["find"]["stdout"].strip() == ""
    assert seen["grep"]["stdout"].strip() == ""
    assert seen["prepared"]["stdout"].strip() == "prepared"  # prepare did run, as root
    assert result.outcome == Outcome.GRADED


def test_sidecar_reachable_by_name_but_not_across_trials(
    project: ProjectPaths, run_task: TrialRunner
) -> None:
    write_spec(
        project, "basic", "sidecar", "matrix:\n  marker: [alpha, beta]\n---\n" + WITH_SIDECAR
    )
    results = {}

    def one(marker: str, other: str) -> None:
        other_name = (
            "opsbench-"
            + hashlib.sha256(f"side-{other}/sidecar-{other}__1".encode()).hexdigest()[:10]
            + "-web"
        )
        probe = {
            "by_name": f"curl -s --max-time 3 http://{other_name}:8000/marker.txt; echo rc=$?",
            "own": "curl -sf --max-time 5 http://web:8000/marker.txt",
            # the other trial's sidecar by container name and by alias: both unreachable
            "other": f"getent hosts web; curl -s --max-time 3 http://web:8000/marker.txt | grep -c {other}",
        }
        results[marker] = run_task(
            f"sidecar-{marker}",
            "tests.runtime.probe_agents:ProbeAgent",
            job=f"side-{marker}",
            commands=probe,
        )

    threads = [
        threading.Thread(target=one, args=(a, b)) for a, b in (("alpha", "beta"), ("beta", "alpha"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for marker, (result, paths) in results.items():
        assert result.outcome == Outcome.GRADED, result.exception
        seen = json.loads((paths.agent / "probe.json").read_text())
        assert seen["own"]["stdout"].strip() == marker
        assert seen["other"]["stdout"].strip().endswith("0")
        assert "alpha" not in seen["by_name"]["stdout"] and "beta" not in seen["by_name"]["stdout"]
        assert "rc=0" not in seen["by_name"]["stdout"]
        assert leftovers(f"side-{marker}") == ([], [])


def test_agent_crash_is_agent_error_and_cleaned(
    simple: ProjectPaths, run_task: TrialRunner
) -> None:
    result, _ = run_task("touch-file", "tests.runtime.probe_agents:CrashAgent", job="crash")
    assert result.outcome == Outcome.AGENT_ERROR
    assert result.exception is not None and "blew up" in result.exception.message
    assert leftovers("crash") == ([], [])


def test_agent_timeout_enforced_and_cleaned(simple: ProjectPaths, run_task: TrialRunner) -> None:
    t0 = time.monotonic()
    result, _ = run_task("touch-file", "tests.runtime.probe_agents:SleepAgent", job="slow")
    assert result.outcome == Outcome.AGENT_TIMEOUT
    assert time.monotonic() - t0 < 60  # 20 s agent deadline plus set-up, not 3600 s
    assert leftovers("slow") == ([], [])


def test_cancel_tears_down_and_records_cancelled(
    simple: ProjectPaths, run_task: TrialRunner
) -> None:
    cancel = threading.Event()
    threading.Timer(4.0, cancel.set).start()
    result, paths = run_task(
        "touch-file", "tests.runtime.probe_agents:SleepAgent", job="cancel", cancel=cancel
    )
    assert result.outcome == Outcome.CANCELLED
    assert paths.result.is_file()
    assert leftovers("cancel") == ([], [])


def test_memory_and_fork_bombs_are_contained(simple: ProjectPaths, run_task: TrialRunner) -> None:
    result, paths = run_task("touch-file", "tests.runtime.probe_agents:HogAgent", job="hog")
    # classified, not the orchestrator killed: the trial ran to a recorded outcome
    assert result.outcome in (Outcome.GRADED, Outcome.AGENT_ERROR), result.exception
    seen = json.loads((paths.agent / "probe.json").read_text())
    assert seen["mem_exit"] != 0  # the OOM killer stopped the memory bomb
    assert leftovers("hog") == ([], [])


def test_async_agent_runs(simple: ProjectPaths, run_task: TrialRunner) -> None:
    result, paths = run_task("touch-file", "tests.runtime.probe_agents:AsyncEchoAgent", job="async")
    assert result.outcome == Outcome.GRADED
    assert "async agent" in paths.commands.read_text()


def test_broken_dockerfile_is_infra_error(project: ProjectPaths, run_task: TrialRunner) -> None:
    write_spec(
        project,
        "basic",
        "touch-file",
        SIMPLE.replace("prepare:", "  dockerfile: RUN exit 3\nprepare:", 1)
        .replace("environment:\n", "environment:\n  dockerfile: RUN false-command-xyz\n", 1)
        .replace("  dockerfile: RUN exit 3\n", ""),
    )
    result, paths = run_task("touch-file", "oracle", job="broken")
    assert result.outcome == Outcome.INFRA_ERROR
    assert result.exception is not None and "building" in result.exception.message
    assert "false-command-xyz" in paths.log.read_text()  # the build log lands in trial.log
    assert leftovers("broken") == ([], [])


def test_unhealthy_sidecar_is_infra_error(project: ProjectPaths, run_task: TrialRunner) -> None:
    spec = WITH_SIDECAR.replace("{{ marker }}", "x").replace(
        'healthcheck: "curl -sf http://localhost:8000/marker.txt"', 'healthcheck: "exit 1"'
    )
    write_spec(project, "basic", "sidecar", spec)
    result, _ = run_task("sidecar-x", "oracle", job="unhealthy")
    assert result.outcome == Outcome.INFRA_ERROR
    assert result.exception is not None and "sidecar web" in result.exception.message
    assert leftovers("unhealthy") == ([], [])


def test_failing_prepare_is_infra_error(project: ProjectPaths, run_task: TrialRunner) -> None:
    write_spec(
        project,
        "basic",
        "touch-file",
        SIMPLE.replace("echo prepared > /root/prepared", "echo injecting; exit 7"),
    )
    result, _ = run_task("touch-file", "oracle", job="prep")
    assert result.outcome == Outcome.INFRA_ERROR
    assert result.exception is not None and "prepare exited 7" in result.exception.message


def test_harbor_style_agent_runs_through_the_shim(
    simple: ProjectPaths, run_task: TrialRunner
) -> None:
    result, paths = run_task(
        "touch-file",
        "agents.harbor_shim:HarborAgentShim",
        job="harbor",
        harbor_agent="tests.runtime.probe_agents:HarborStyleAgent",
        greeting="hello",
    )
    assert result.outcome == Outcome.GRADED and result.rewards is not None and result.rewards.passed
    assert (paths.agent / "harbor.txt").read_text().startswith("hello 0 done")
    assert "mkdir -p /root/harbor" in paths.commands.read_text()  # audited like any agent
    assert result.usage.input_tokens == 7
