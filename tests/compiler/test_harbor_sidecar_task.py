"""A sidecar task as Harbor gets it: self-sufficient, with one clock, and its CI subset.

Harbor runs a compiled task with nothing of opsbench's runtime: the o11y sidecar makes its
own data from the generator, seed and scenario time the task directory carries, the
instruction names that time and the answer file, and opsbench swaps those notes for its
own run's. The Harbor run in CI covers one task per category and per sidecar kind, chosen
from the specs.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile

import yaml

from opsbench.harbor_run import representative
from opsbench.models.spec import TaskSpec
from opsbench.paths import TaskPaths
from opsbench.run_notes import ANSWER_FILE, HARBOR_SCENARIO_TIME, for_opsbench
from tests.compiler.conftest import Project, spec_yaml


def test_an_o11y_task_carries_what_its_sidecar_needs_under_harbor(project: Project) -> None:
    assert project.sync().code == 0
    env = project.tasks / "cpu-ranking" / "environment"
    compose = yaml.safe_load((env / "docker-compose.yaml").read_text())
    o11y = compose["services"]["o11y"]
    assert o11y["environment"] == {
        "O11Y_GENERATOR": "/opt/o11y/task/opsbench_o11y.zip",
        "O11Y_SCENARIO_TIME": HARBOR_SCENARIO_TIME,
        "O11Y_SEED": "0",
    }
    assert "./o11y:/opt/o11y/task:ro" in o11y["volumes"]
    # The sidecar writes its logs into a volume the task container reads them from.
    assert "o11y-logs:/var/lib/o11y/logs" in o11y["volumes"]
    assert compose["services"]["main"]["volumes"] == ["o11y-logs:/var/log/apps:ro"]
    assert compose["services"]["main"]["depends_on"]["o11y"] == {"condition": "service_healthy"}
    names = zipfile.ZipFile(env / "o11y" / "opsbench_o11y.zip").namelist()
    assert "opsbench/o11y/materialize.py" in names and "opsbench/o11y/telemetry.py" in names
    assert not (project.tasks / "crash-loop-port-typo" / "environment" / "o11y").exists()


def test_the_carried_generator_runs_on_the_standard_library_alone(project: Project) -> None:
    """The sidecar has Debian's python3 and nothing of opsbench: the zip must import alone
    (`-S`: no site-packages), and its entry point must parse its arguments."""
    assert project.sync().code == 0
    bundle = project.tasks / "cpu-ranking" / "environment" / "o11y" / "opsbench_o11y.zip"
    probe = (
        "import sys, opsbench.o11y.materialize as m, opsbench.o11y.telemetry\n"
        "print(all(f.startswith(sys.argv[1]) for f in "
        "[x.__file__ for n, x in sys.modules.items() if n.startswith('opsbench')]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-S", "-c", probe, str(bundle)],
        env={"PYTHONPATH": str(bundle), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"


def test_opsbench_swaps_harbors_notes_for_its_own_run(project: Project) -> None:
    assert project.sync().code == 0
    task = TaskPaths(project.tasks / "cpu-ranking")
    spec = TaskSpec.model_validate_json(task.tests.joinpath("spec.json").read_bytes())
    compiled = task.instruction.read_text()
    assert f"The current time in this scenario is {HARBOR_SCENARIO_TIME}." in compiled
    assert ANSWER_FILE in compiled

    run = for_opsbench(compiled, spec, "2026-12-03T10:34:00Z")

    assert run.count("The current time in this scenario is") == 1
    assert "2026-12-03T10:34:00Z" in run and HARBOR_SCENARIO_TIME not in run
    assert ANSWER_FILE not in run, "opsbench grades the final message, not a file"
    assert run.startswith(compiled.split("\n---\n")[0])


def test_a_remediation_task_has_no_notes(project: Project) -> None:
    assert project.sync().code == 0
    text = (project.tasks / "crash-loop-port-typo" / "instruction.md").read_text()
    assert "---" not in text and ANSWER_FILE not in text


def test_the_ci_subset_covers_every_category_and_sidecar_kind(project: Project) -> None:
    """Chosen from the specs: a category added later is covered without editing a list."""
    project.write_spec(
        "databases/replica-lag.yaml",
        spec_yaml("replica-lag", environment={"custom_sidecars": [_custom_sidecar()]}),
    )
    project.write_spec("alerting/rule-typo.yaml", spec_yaml("rule-typo"))
    assert project.sync().code == 0
    tasks = {p.name: TaskPaths(p) for p in project.tasks.iterdir() if p.is_dir()}
    chosen = representative(tasks)

    categories = {_meta(tasks[t])["category"] for t in chosen}
    assert categories == {_meta(t)["category"] for t in tasks.values()}
    assert len(chosen) == len(categories), "one task per category suffices here"
    sidecars = {s for t in chosen for s in _meta(tasks[t]).get("sidecars", [])}
    assert {"o11y", "db"} <= sidecars
    assert chosen == representative(tasks), "deterministic"


def _custom_sidecar() -> dict[str, object]:
    return {
        "name": "db",
        "image": "opsbench-base:2",
        "port": 5432,
        "healthcheck": "true",
        "command": ["sleep", "infinity"],
    }


def _meta(task: TaskPaths) -> dict[str, object]:
    import tomllib

    meta: dict[str, object] = tomllib.loads(task.config.read_text())["metadata"]
    return meta
