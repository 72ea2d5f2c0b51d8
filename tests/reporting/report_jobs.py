"""Synthetic job directories for report tests, written through the real models."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from opsbench.models.result import (
    ExceptionInfo,
    Outcome,
    PhaseTiming,
    Rewards,
    TrialResult,
    UsageCounters,
    VariantInfo,
)
from opsbench.models.trajectory import (
    AtifAgent,
    Observation,
    ObservationResult,
    Step,
    ToolCall,
    Trajectory,
)
from opsbench.models.verdict import DiagnosticsVerdict
from opsbench.paths import JobPaths

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class TrialSpec:
    task_id: str
    attempt: int
    outcome: Outcome = Outcome.GRADED
    passed: bool = False
    task: bool | None = None
    compliance: bool | None = True
    """None: not applicable (a Harbor-format task)."""
    reward: float | None = None
    category: str = "alerts"
    difficulty: str = "easy"
    seconds: float = 60.0
    cost: float = 0.01
    input_tokens: int = 1000
    output_tokens: int = 100
    partial: bool = False
    instruction: str = "Find out why the checkout service is slow."
    final_answer: str = "The database pool is exhausted."
    steps: list[Step] | None = None
    commands: list[dict[str, Any]] | None = None
    grading: dict[str, Any] | None = None
    extra_files: dict[str, str] = field(default_factory=dict)
    diagnostics: DiagnosticsVerdict | None = None


def default_steps(spec: TrialSpec) -> list[Step]:
    return [
        Step(step_id=1, source="user", message=spec.instruction),
        Step(
            step_id=2,
            source="agent",
            message="Checking the error rate first.",
            reasoning_content="The alert mentions latency; look at the p99 histogram.",
            tool_calls=[
                ToolCall(
                    tool_call_id="c1",
                    function_name="bash",
                    arguments={"command": "curl -s http://o11y:9090/api/v1/alerts"},
                )
            ],
            observation=Observation(
                results=[ObservationResult(source_call_id="c1", content='{"status":"success"}')]
            ),
        ),
        Step(step_id=3, source="agent", message=spec.final_answer),
    ]


def default_grading(spec: TrialSpec) -> dict[str, Any]:
    task_ok = spec.passed if spec.task is None else spec.task
    reward = spec.reward if spec.reward is not None else (1.0 if task_ok else 0.0)
    return {
        "checks": [
            {
                "name": "pool-size-raised",
                "kind": "command",
                "weight": 1.0,
                "passed": task_ok,
                "message": "pool size is 50" if task_ok else "pool size is still 5",
                "evidence": {"stdout": "max_connections=50" if task_ok else "max_connections=5"},
            }
        ],
        "compliance": [
            {
                "name": "no-restart-of-db",
                "kind": "forbidden_command",
                "passed": spec.compliance,
                "message": "never restarted postgres"
                if spec.compliance
                else "ran systemctl restart postgres",
                "evidence": []
                if spec.compliance
                else [{"index": 2, "command": "systemctl restart postgres"}],
            }
        ],
        "rubric": [
            {
                "name": "root-cause",
                "criterion": "Names connection-pool exhaustion as the root cause",
                "weight": 1.0,
                "verdict": "yes" if task_ok else "no",
                "explanation": "The summary says the pool is exhausted.",
                "fact": "pool exhaustion",
            }
        ],
        "score": {
            "reward": reward,
            "task": task_ok,
            "compliance": spec.compliance,
            "passed": spec.passed,
            "partial": spec.partial,
        },
    }


def default_commands() -> list[dict[str, Any]]:
    return [
        {
            "index": 1,
            "time": "2026-03-01T12:00:05.000Z",
            "command": "curl -s http://o11y:9090/api/v1/alerts",
            "user": "agent",
            "cwd": "",
            "exit_code": 0,
            "duration_sec": 0.2,
            "timed_out": False,
            "stdout": '{"status":"success"}',
            "stderr": "",
        }
    ]


def write_trial(
    job_dir: Path, spec: TrialSpec, *, variant: VariantInfo | None = None
) -> TrialResult:
    paths = JobPaths(job_dir).trial(spec.task_id, spec.attempt)
    paths.make()
    graded = spec.outcome is Outcome.GRADED
    task_ok = spec.passed if spec.task is None else spec.task
    rewards = (
        Rewards(
            reward=spec.reward if spec.reward is not None else (1.0 if task_ok else 0.0),
            task=task_ok,
            compliance=spec.compliance,
            passed=spec.passed,
            partial=spec.partial,
        )
        if graded
        else None
    )
    exception = (
        None
        if graded
        else ExceptionInfo(
            type={"agent_timeout": "AgentTimeout", "provider_error": "ProviderError"}.get(
                spec.outcome.value, "RuntimeError"
            ),
            message=f"{spec.outcome.value} in trial {spec.task_id}",
            phase="agent",
            traceback="Traceback (most recent call last):\n  ...",
        )
    )
    started = T0 + timedelta(minutes=spec.attempt)
    result = TrialResult(
        trial_name=paths.dir.name,
        task_id=spec.task_id,
        attempt=spec.attempt,
        task_checksum="sha256:abc",
        category=spec.category,
        difficulty=spec.difficulty,
        variant=variant
        or VariantInfo(model="openai/gpt-test", reasoning_effort="low", agent="sre"),
        outcome=spec.outcome,
        started_at=started,
        finished_at=started + timedelta(seconds=spec.seconds),
        phases={"agent": PhaseTiming(started_at=started, seconds=spec.seconds * 0.8, ok=graded)},
        exception=exception,
        rewards=rewards,
        diagnostics=spec.diagnostics,
        usage=UsageCounters(
            calls=3,
            input_tokens=spec.input_tokens,
            output_tokens=spec.output_tokens,
            cost_usd=spec.cost,
        ),
        opsbench_version="0.1.0",
    )
    paths.instruction.write_text(spec.instruction, encoding="utf-8")
    trajectory = Trajectory(
        agent=AtifAgent(name="sre", version="1"),
        steps=spec.steps if spec.steps is not None else default_steps(spec),
        extra={"final_answer": spec.final_answer},
    )
    paths.trajectory.write_text(trajectory.model_dump_json(exclude_none=True), encoding="utf-8")
    commands = spec.commands if spec.commands is not None else default_commands()
    paths.commands.write_text("".join(json.dumps(c) + "\n" for c in commands), encoding="utf-8")
    if graded:
        grading = spec.grading if spec.grading is not None else default_grading(spec)
        paths.grading_details.write_text(json.dumps(grading), encoding="utf-8")
    for rel, text in spec.extra_files.items():
        (paths.dir / rel).write_text(text, encoding="utf-8")
    paths.result.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return result


def write_job(
    job_dir: Path,
    specs: list[TrialSpec],
    *,
    config: dict[str, Any] | None = None,
    scenario_time: str = "2026-03-01T12:00:00Z",
    variant: VariantInfo | None = None,
) -> list[TrialResult]:
    job_dir.mkdir(parents=True, exist_ok=True)
    paths = JobPaths(job_dir)
    cfg = (
        config
        if config is not None
        else {
            "model": (variant.model if variant else "openai/gpt-test"),
            "reasoning_effort": (variant.reasoning_effort if variant else "low"),
            "agent": (variant.agent if variant else "sre"),
            "n_attempts": max((s.attempt for s in specs), default=1),
            "judge_model": "openai/judge-test",
        }
    )
    paths.config.write_text(json.dumps(cfg), encoding="utf-8")
    paths.scenario_time.write_text(scenario_time + "\n", encoding="utf-8")
    return [write_trial(job_dir, s, variant=variant) for s in specs]


def hostile_trial(payload: str, passed: bool) -> TrialSpec:
    """One trial whose every piece of agent- and user-supplied text is `payload`: the
    instruction, answer, message, reasoning and audited command all must render as text."""
    return TrialSpec(
        "xss",
        1,
        Outcome.GRADED,
        passed=passed,
        instruction=payload,
        final_answer=payload,
        steps=[Step(step_id=1, source="agent", message=payload, reasoning_content=payload)],
        commands=[
            {
                "index": 1,
                "time": "t",
                "command": payload,
                "exit_code": int(not passed),
                "stdout": payload,
            }
        ],
    )


def hand_made_specs() -> list[TrialSpec]:
    """3 tasks x 3 attempts with known outcomes (expected numbers worked out in tests)."""
    G, AE, PE, IE, CA = (
        Outcome.GRADED,
        Outcome.AGENT_ERROR,
        Outcome.PROVIDER_ERROR,
        Outcome.INFRA_ERROR,
        Outcome.CANCELLED,
    )
    return [
        TrialSpec(
            "disk-full",
            1,
            G,
            passed=True,
            reward=1.0,
            category="alerts",
            difficulty="easy",
            seconds=30,
            cost=0.01,
        ),
        TrialSpec(
            "disk-full",
            2,
            G,
            passed=True,
            reward=1.0,
            category="alerts",
            difficulty="easy",
            seconds=40,
            cost=0.02,
        ),
        TrialSpec(
            "disk-full",
            3,
            G,
            passed=False,
            task=True,
            compliance=False,
            reward=1.0,
            category="alerts",
            difficulty="easy",
            seconds=50,
            cost=0.03,
        ),
        TrialSpec(
            "slow-db",
            1,
            G,
            passed=False,
            reward=0.25,
            category="alerts",
            difficulty="hard",
            seconds=60,
            cost=0.04,
        ),
        TrialSpec("slow-db", 2, AE, category="alerts", difficulty="hard", seconds=70, cost=0.05),
        TrialSpec("slow-db", 3, PE, category="alerts", difficulty="hard", seconds=80, cost=0.06),
        TrialSpec(
            "log-spike",
            1,
            G,
            passed=True,
            reward=1.0,
            category="logs",
            difficulty="medium",
            seconds=90,
            cost=0.07,
        ),
        TrialSpec("log-spike", 2, IE, category="logs", difficulty="medium", seconds=100, cost=0.08),
        TrialSpec("log-spike", 3, CA, category="logs", difficulty="medium", seconds=110, cost=0.09),
    ]


VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "source", "wbr"}


class _TextOf(HTMLParser):
    """Text content of every element carrying attribute `attr` (= `value` when given)."""

    def __init__(self, attr: str, value: str | None) -> None:
        super().__init__()
        self.attr, self.value = attr, value
        self.found: list[str] = []
        self._open: list[tuple[int, list[str]]] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        self._depth += 1
        got = dict(attrs)
        if self.attr in got and (self.value is None or got[self.attr] == self.value):
            self._open.append((self._depth, []))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if self._open and self._open[-1][0] == self._depth:
            _, parts = self._open.pop()
            self.found.append(" ".join(" ".join(parts).split()))
            if self._open:
                self._open[-1][1].extend(parts)
        self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1][1].append(data)


def texts_of(html: str, attr: str, value: str | None = None) -> list[str]:
    """Whitespace-normalised text of each element with `attr` (= `value`), in closing order."""
    parser = _TextOf(attr, value)
    parser.feed(html)
    return parser.found


def text_of(html: str, attr: str, value: str | None = None) -> str:
    found = texts_of(html, attr, value)
    assert found, f"no element with {attr}={value!r}"
    return found[0]
