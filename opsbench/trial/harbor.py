"""The phases that differ for a Harbor task (`opsbench.harbor_task`).

- preflight: the task must have a verifier (`tests/test.sh`), a Dockerfile, and base
  images the engine has or can pull — otherwise one `infra_error` line naming what is
  missing, before any agent runs;
- prepare: none (a Harbor task's environment is ready when its container starts);
- verify: the task's own verifier, as its `task.toml` asks: `shared` uploads `tests/`
  into the task container after the agent and runs `test.sh` there; `separate` builds
  `tests/Dockerfile`, gives that container the task's declared artifacts and runs it
  there. The reward is the one `test.sh` wrote (`reward.json`, else `reward.txt`, read
  as Harbor reads them); no reward file is the verifier's failure (`infra_error`), never
  the agent's. The task gate is reward 1; compliance is not applicable (None).
"""

from __future__ import annotations

import json
import math
import shlex
import tempfile
from pathlib import Path
from typing import Any

from grading.diagnostics import diagnose
from grading.grader import GradingResult
from opsbench.failures import InfraError
from opsbench.harbor_task import HarborTask, base_images, read_materialized, synthetic_spec
from opsbench.models.spec import TaskSpec
from opsbench.models.trajectory import load_trajectory
from opsbench.models.verdict import CheckVerdict, Evidence, GradingDetails, Rewards
from opsbench.paths import TaskPaths
from opsbench.runtime.base import TrialEnvironment
from opsbench.sandbox import Sandbox, read_commands
from opsbench.trial.state import TrialState
from opsbench.trial.verify import require_running, write_verifier_outputs

LOGS = "/logs/verifier"


def load_spec(task: TaskPaths) -> tuple[TaskSpec, HarborTask | None]:
    """The spec a trial runs: ours from `tests/spec.json`, or a Harbor task's synthetic one."""
    harbor = read_materialized(task)
    if harbor is None:
        return TaskSpec.model_validate_json(task.spec_json.read_text()), None
    return synthetic_spec(harbor, task.instruction.read_text(encoding="utf-8")), harbor


def check_task(state: TrialState, harbor: HarborTask) -> None:
    """What the task needs before an agent runs on it; InfraError naming what is missing."""
    task = state.task
    if not task.test_sh.is_file():
        raise InfraError(f"{harbor.name}: tests/test.sh is missing (the task has no verifier)")
    if task.compose.is_file():
        services = compose_services(task.compose)
        if len(services) > 1:
            raise InfraError(
                f"{harbor.name}: docker-compose environments with several services "
                f"({', '.join(services)}) are not supported yet"
            )
    if not task.dockerfile.is_file():
        raise InfraError(f"{harbor.name}: environment/Dockerfile is missing")
    if harbor.verifier_mode == "separate" and not (task.tests / "Dockerfile").is_file():
        raise InfraError(f"{harbor.name}: separate verifier mode needs tests/Dockerfile")
    dockerfiles = [task.dockerfile]
    if harbor.verifier_mode == "separate":
        dockerfiles.append(task.tests / "Dockerfile")
    for dockerfile in dockerfiles:
        for image in base_images(dockerfile):
            _require_image(image, harbor.name)


def compose_services(compose: Path) -> list[str]:
    """The services of a task's docker-compose.yaml (one that builds the Dockerfile is the
    task container itself, which opsbench starts from the Dockerfile)."""
    import yaml

    try:
        data = yaml.safe_load(compose.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InfraError(f"{compose}: not valid YAML: {exc}") from None
    services = data.get("services") if isinstance(data, dict) else None
    return sorted(services) if isinstance(services, dict) else []


def _require_image(image: str, task: str) -> None:
    import docker.errors

    from opsbench.runtime.docker import client

    c = client()
    try:
        c.images.get(image)
        return
    except docker.errors.ImageNotFound:
        pass
    try:
        c.images.pull(image)
    except Exception as exc:
        reason = str(exc).splitlines()[0][:200]
        raise InfraError(
            f"{task}: base image {image} is not available to the engine (not local, pull "
            f"failed: {reason}); map it to a local image with --image-map {image}=IMAGE"
        ) from None


def adopt_image_workdir(state: TrialState, harbor: HarborTask) -> None:
    """Harbor runs commands in the image's WORKDIR unless task.toml names one."""
    if harbor.workdir:
        return
    from opsbench.runtime.docker import client

    try:
        workdir = client().images.get(state.image).attrs["Config"].get("WorkingDir") or "/"
    except Exception:
        return
    env = state.spec.environment.model_copy(update={"workdir": workdir})
    state.spec = state.spec.model_copy(update={"environment": env})


def verify(state: TrialState, env: TrialEnvironment, harbor: HarborTask) -> GradingResult:
    require_running(state, env)
    if harbor.verifier_mode == "separate":
        box = _separate_verifier(state, env, harbor)
    else:
        box = env.verifier
        box.exec("rm -rf /tests", timeout=30, user="root")
        box.upload(state.task.tests, "/tests")
    timeout = state.spec.environment.timeouts.verify_sec
    box.exec(
        f"mkdir -p {LOGS} && rm -f {LOGS}/reward.txt {LOGS}/reward.json", timeout=30, user="root"
    )
    out = box.exec(
        f"bash /tests/test.sh > {LOGS}/test-stdout.txt 2>&1",
        timeout=timeout,
        user="root",
        env=harbor.verifier_env or None,
        cwd=state.spec.environment.workdir,
    )
    state.log(f"harbor verifier exited {out.exit_code}")
    logs = state.paths.verifier / "harbor"
    try:
        box.download(LOGS, logs)
    except Exception as exc:
        raise InfraError(f"{harbor.name}: could not read {LOGS}: {exc}") from exc
    rewards, source = read_rewards(logs, harbor.name, out.exit_code, out.timed_out)
    reward = rewards.get("reward", next(iter(rewards.values())) if len(rewards) == 1 else None)
    if reward is None:
        raise InfraError(
            f"{harbor.name}: reward.json has several rewards and none named 'reward': "
            + ", ".join(sorted(rewards))
        )
    value = min(1.0, max(0.0, float(reward)))
    task_pass = value >= 1.0
    score = Rewards(reward=value, task=task_pass, compliance=None, passed=task_pass)
    check = CheckVerdict(
        name="harbor-verifier",
        kind="harbor",
        weight=1.0,
        passed=task_pass,
        message=f"reward {float(reward):g} from {source} (test.sh exit {out.exit_code})",
        evidence={"rewards": rewards, "exit_code": out.exit_code, "mode": harbor.verifier_mode},
    )
    diagnostics = diagnose(
        state.spec,
        read_commands(state.paths.commands),
        load_trajectory(state.paths.trajectory),
        task_passed=task_pass,
    )
    details = GradingDetails(checks=[check], score=score, diagnostics=diagnostics)
    result = GradingResult(details, Evidence(spec=state.spec, checks=[check]))
    write_verifier_outputs(state.paths, result)
    state.rewards = score
    state.diagnostics = diagnostics
    return result


def read_rewards(
    logs: Path, task: str, exit_code: int, timed_out: bool
) -> tuple[dict[str, float], str]:
    """Harbor's rules: `reward.json` (name -> number) wins over `reward.txt` (a number)."""
    json_path, text_path = logs / "reward.json", logs / "reward.txt"
    if json_path.is_file():
        try:
            raw: Any = json.loads(json_path.read_text())
        except ValueError as exc:
            raise InfraError(f"{task}: reward.json is not JSON: {exc}") from None
        values = raw if isinstance(raw, dict) else {"reward": raw}
        rewards = {str(k): v for k, v in values.items()}
        source = "reward.json"
    elif text_path.is_file():
        try:
            rewards = {"reward": float(text_path.read_text().strip())}
        except ValueError:
            raise InfraError(
                f"{task}: reward.txt holds no number: {text_path.read_text()[:80]!r}"
            ) from None
        source = "reward.txt"
    else:
        why = "timed out" if timed_out else f"exited {exit_code}"
        tail = ""
        stdout = logs / "test-stdout.txt"
        if stdout.is_file():
            tail = ": " + stdout.read_text(errors="replace").strip()[-300:]
        raise InfraError(
            f"{task}: the verifier wrote no {LOGS}/reward.txt or reward.json "
            f"(tests/test.sh {why}){tail}"
        )
    bad = [k for k, v in rewards.items() if not isinstance(v, int | float) or not math.isfinite(v)]
    if bad:
        raise InfraError(f"{task}: {source}: non-numeric reward {', '.join(bad)}")
    return {k: float(v) for k, v in rewards.items()}, source


def _separate_verifier(state: TrialState, env: TrialEnvironment, harbor: HarborTask) -> Sandbox:
    """A container from `tests/Dockerfile` on the trial's network, holding the artifacts."""
    from opsbench.runtime.docker import client, labels
    from opsbench.runtime.environment import DockerEnvironment
    from opsbench.runtime.sandbox_docker import DockerSandbox

    if not isinstance(env, DockerEnvironment):
        raise InfraError(f"{harbor.name}: a separate Harbor verifier needs the Docker runtime")
    image = state.runtime.ensure_image(
        state.task.tests, f"{state.spec.id}-verifier", harbor.build_timeout_sec
    )
    container = client().containers.run(
        image,
        ["sleep", "infinity"],
        entrypoint=[],
        name=f"{env.prefix}-harbor-verifier",
        labels=labels(state.config.job_name, state.config.trial_name, "harbor-verifier"),
        network=env.network.name,
        init=True,
        detach=True,
    )
    env.containers.append(container)  # removed with the trial
    box = DockerSandbox(container, default_user="root")
    main = env.verifier
    for path in [*harbor.artifacts, "/logs/artifacts"]:
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / "artifact"
            try:
                main.download(path, local)
            except Exception:
                state.log(f"artifact {path}: not in the task container")
                continue
            box.exec(f"mkdir -p {shlex.quote(str(Path(path).parent))}", timeout=30, user="root")
            box.upload(local, path)
    return box
