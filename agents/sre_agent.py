"""`sre`: the default LLM agent — a tool-calling loop through the provider layer.

The model gets five tools, all run through the `Sandbox` handle (so every action is in
the audit record and sees the trial's private network):

- `run_shell` — a bash command, with a timeout; long output keeps its head and tail;
- `prometheus_query` — PromQL, instant or range, against the task's Prometheus sidecar
  (`http://o11y:9090` unless the sandbox names another endpoint), fetched from inside;
- `list_alerts` — Prometheus' alerts;
- `http_get` — a raw GET from inside the sandbox;
- `submit_answer` — the final report; ends the loop.

Limits come from `AgentConfig.kwargs` (`SreAgentOptions`: `max_steps`,
`max_tokens_total`, command timeouts, output size) and are recorded in the trajectory.
Prompts are the files `agents/prompts/sre_system.md` and `sre_task.md` (Jinja2). The ATIF
trajectory is saved after every step — a model step is written before its tools run —
so a crash leaves a readable partial trajectory. Malformed tool arguments get an error
observation back; the model can correct itself.

Provider settings come from `context.extra["provider_settings"]` (a `ProviderSettings` or
its dict), usage lands in `context.usage`; `context.extra["provider_registry"]` may carry
a `GateRegistry` (tests). The agent uses nothing but the `Sandbox` ABC.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opsbench.agent import Agent, AgentConfig, AgentContext
from opsbench.failures import Cancelled
from opsbench.models.provider import ProviderSettings
from opsbench.models.trajectory import (
    AtifAgent,
    FinalMetrics,
    Observation,
    ObservationResult,
    StepMetrics,
    ToolCall,
    TrajectoryWriter,
)
from opsbench.providers import (
    Completion,
    ContextLengthExceeded,
    GateRegistry,
    ModelClient,
    ProviderConfigError,
)
from opsbench.sandbox import ExecOutput, Sandbox, truncate

PROMPTS = Path(__file__).parent / "prompts"
DEFAULT_PROMETHEUS = "http://o11y:9090"
NUDGE = "Continue with the tools, or call submit_answer to finish."

# --------------------------------------------------------------------------- tools


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunShell(_Args):
    """Run a bash command on the machine; returns exit code, stdout and stderr."""

    command: str = Field(min_length=1, description="The bash command to run.")
    timeout_sec: float | None = Field(
        None, gt=0, description="Seconds before the command is killed (default 60)."
    )


class PrometheusQuery(_Args):
    """Evaluate PromQL in Prometheus: an instant query, or a range query when `start` and
    `end` are given. Times are RFC 3339 or Unix seconds; `step` like `30s` or `1m`."""

    query: str = Field(min_length=1, description="The PromQL expression.")
    time: str | None = Field(None, description="Instant query evaluation time.")
    start: str | None = Field(None, description="Range query start.")
    end: str | None = Field(None, description="Range query end.")
    step: str | None = Field(None, description="Range query resolution (default 60s).")


class ListAlerts(_Args):
    """List the alerts Prometheus currently has (firing and pending)."""


class HttpGet(_Args):
    """HTTP GET a URL from the machine and return the response body."""

    url: str = Field(pattern=r"^https?://", description="An http:// or https:// URL.")


class SubmitAnswer(_Args):
    """Finish the task with your report: root cause, evidence, what you changed and how
    you verified it. Ends your session."""

    answer: str = Field(min_length=1, description="The final report.")


TOOL_ARGS: dict[str, type[_Args]] = {
    "run_shell": RunShell,
    "prometheus_query": PrometheusQuery,
    "list_alerts": ListAlerts,
    "http_get": HttpGet,
    "submit_answer": SubmitAnswer,
}


def tool_definitions() -> list[dict[str, Any]]:
    """The tools in OpenAI function-calling form, schemas generated from the models."""
    return [
        {
            "type": "function",
            "function": {
                "name": name,
                "description": " ".join((model.__doc__ or name).split()),
                "parameters": _schema(model),
            },
        }
        for name, model in TOOL_ARGS.items()
    ]


def _schema(model: type[_Args]) -> dict[str, Any]:
    schema = model.model_json_schema()
    props: dict[str, Any] = {}
    for key, prop in schema.get("properties", {}).items():
        prop = {k: v for k, v in prop.items() if k not in {"title", "default"}}
        options = prop.pop("anyOf", None)
        if options:  # `str | None` -> just the type: optional is `required`'s business
            prop.update(next(o for o in options if o.get("type") != "null"))
        props[key] = prop
    return {
        "type": "object",
        "properties": props,
        "required": schema.get("required", []),
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class ParsedCall:
    name: str
    arguments: dict[str, Any]
    """What the trajectory records: the parsed object, or `{"_raw": text}`."""
    args: _Args | None = None
    error: str | None = None


@dataclass(frozen=True)
class ToolResult:
    content: str
    final_answer: str | None = None
    error: bool = False


class SreTools:
    """Parses and runs tool calls against a sandbox. Errors become observations."""

    def __init__(
        self,
        sandbox: Sandbox,
        *,
        command_timeout: float = 60,
        max_command_timeout: float = 300,
        output_limit: int = 10_000,
        prometheus_url: str | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.command_timeout = command_timeout
        self.max_command_timeout = max_command_timeout
        self.output_limit = output_limit
        self.prometheus_url = (prometheus_url or _prometheus_url(sandbox)).rstrip("/")

    def call(self, name: str, arguments: str | dict[str, Any]) -> ToolResult:
        return self.execute(self.parse(name, arguments))

    def parse(self, name: str, arguments: str | dict[str, Any]) -> ParsedCall:
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        model = TOOL_ARGS.get(name)
        if model is None:
            known = ", ".join(TOOL_ARGS)
            return ParsedCall(name, {"_raw": raw}, error=f"unknown tool {name!r}; tools: {known}")
        try:
            value = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            return ParsedCall(name, {"_raw": raw}, error=f"arguments are not valid JSON ({exc})")
        if not isinstance(value, dict):
            return ParsedCall(name, {"_raw": raw}, error="arguments must be a JSON object")
        try:
            args = model.model_validate(value)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(object)'}: {e['msg']}"
                for e in exc.errors()
            )
            return ParsedCall(name, value, error=f"invalid arguments: {problems}")
        return ParsedCall(name, value, args=args)

    def execute(self, call: ParsedCall) -> ToolResult:
        if call.args is None:
            schema = json.dumps(_schema(TOOL_ARGS[call.name])) if call.name in TOOL_ARGS else ""
            hint = f" Expected arguments matching {schema}." if schema else ""
            return ToolResult(f"error: {call.error}.{hint}", error=True)
        args = call.args
        if isinstance(args, SubmitAnswer):
            return ToolResult("answer submitted", final_answer=args.answer)
        if isinstance(args, RunShell):
            timeout = min(args.timeout_sec or self.command_timeout, self.max_command_timeout)
            return self._shown(self.sandbox.exec(args.command, timeout=timeout))
        if isinstance(args, PrometheusQuery):
            return self._prometheus(args)
        if isinstance(args, ListAlerts):
            return self._fetched(self.sandbox.fetch(f"{self.prometheus_url}/api/v1/alerts"))
        if isinstance(args, HttpGet):
            return self._fetched(self.sandbox.fetch(args.url))
        raise AssertionError(f"no handler for {type(args).__name__}")

    def _prometheus(self, args: PrometheusQuery) -> ToolResult:
        if (args.start is None) != (args.end is None):
            return ToolResult("error: a range query needs both `start` and `end`", error=True)
        if args.start is not None:
            path = "/api/v1/query_range"
            params = {"query": args.query, "start": args.start, "end": args.end}
            params["step"] = args.step or "60s"
        else:
            path = "/api/v1/query"
            params = {"query": args.query, **({"time": args.time} if args.time else {})}
        url = f"{self.prometheus_url}{path}?{urllib.parse.urlencode(params)}"
        return self._fetched(self.sandbox.fetch(url))

    def _fetched(self, out: ExecOutput) -> ToolResult:
        if out.exit_code == 0 and not out.timed_out:
            return ToolResult(truncate(out.stdout, self.output_limit) or "(empty response)")
        return self._shown(out)

    def _shown(self, out: ExecOutput) -> ToolResult:
        head = f"exit_code: {out.exit_code}"
        if out.timed_out:
            head += f" (timed out after {out.duration_sec:.0f}s)"
        parts = [head]
        if out.stdout:
            parts.append("--- stdout ---\n" + truncate(out.stdout, self.output_limit))
        if out.stderr:
            parts.append("--- stderr ---\n" + truncate(out.stderr, self.output_limit // 2))
        if not out.stdout and not out.stderr:
            parts.append("(no output)")
        return ToolResult("\n".join(parts), error=out.exit_code != 0)


def invalid_calls_extra(
    calls: Sequence[Any], parsed: Sequence[ParsedCall]
) -> dict[str, Any] | None:
    """`Step.extra` naming the calls that could not run, for the diagnostics' invalid-action
    count (`grading.diagnostics`): a tool the agent lacks, or arguments that did not parse
    or validate. None when every call was well formed."""
    bad = [
        {
            "tool_call_id": call.id,
            "kind": "unknown_tool" if p.name not in TOOL_ARGS else "malformed_tool_call",
            "error": p.error,
        }
        for call, p in zip(calls, parsed, strict=True)
        if p.error is not None
    ]
    return {"invalid_tool_calls": bad} if bad else None


def _prometheus_url(sandbox: Sandbox) -> str:
    endpoints = sandbox.endpoints
    for name in ("prometheus", "o11y"):
        if name in endpoints:
            return endpoints[name].url
    for endpoint in endpoints.values():
        if endpoint.port == 9090:
            return endpoint.url
    return DEFAULT_PROMETHEUS


def render_prompt(name: str, **values: Any) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PROMPTS),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return env.get_template(name).render(**values).strip() + "\n"


# --------------------------------------------------------------------------- agent


class SreAgentOptions(BaseModel):
    """`--agent-kwarg` options of the sre agent (strings from the CLI are coerced)."""

    model_config = ConfigDict(extra="forbid")

    max_steps: int = Field(40, ge=1, description="Model calls before the agent gives up.")
    max_tokens_total: int = Field(
        500_000, ge=1, description="Prompt + completion tokens over the whole run."
    )
    command_timeout: float = Field(60, gt=0)
    max_command_timeout: float = Field(300, gt=0)
    output_limit: int = Field(10_000, ge=200, description="Characters kept per tool output.")
    max_output_tokens: int | None = Field(None, ge=1, description="max_tokens per response.")
    temperature: float | None = Field(None, ge=0, le=2)
    prometheus_url: str | None = None
    max_text_replies: int = Field(
        2, ge=1, description="Consecutive replies without a tool call before stopping."
    )


class SreAgent(Agent):
    name = "sre"
    version = "1"

    def __init__(self, config: AgentConfig) -> None:
        super().__init__(config)
        try:
            self.options = SreAgentOptions.model_validate(config.kwargs)
        except ValidationError as exc:
            raise ProviderConfigError(f"sre agent options: {exc}") from exc

    def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        client = self._client(context)
        tools = SreTools(
            sandbox,
            command_timeout=self.options.command_timeout,
            max_command_timeout=self.options.max_command_timeout,
            output_limit=self.options.output_limit,
            prometheus_url=self.options.prometheus_url,
        )
        writer = TrajectoryWriter(
            context.trajectory_path,
            AtifAgent(
                name=self.name,
                version=self.version,
                model_name=client.model,
                tool_definitions=tool_definitions(),
                extra={
                    "reasoning_effort": client.reasoning_effort,
                    "options": self.options.model_dump(mode="json"),
                },
            ),
            session_id=context.task_id,
        )
        system = render_prompt(
            "sre_system.md", prometheus_url=tools.prometheus_url, max_steps=self.options.max_steps
        )
        task = render_prompt(
            "sre_task.md", instruction=instruction, scenario_time=context.scenario_time
        )
        _Loop(client, tools, writer, self.options, context.cancelled).run(system, task)

    def _client(self, context: AgentContext) -> ModelClient:
        if not self.config.model:
            raise ProviderConfigError("the sre agent needs a model (provider/name)")
        raw = context.extra.get("provider_settings")
        try:
            settings = (
                raw
                if isinstance(raw, ProviderSettings)
                else ProviderSettings.model_validate(raw or {})
            )
        except ValidationError as exc:
            raise ProviderConfigError(f"provider settings: {exc}") from exc
        registry = context.extra.get("provider_registry")
        return ModelClient(
            self.config.model,
            reasoning_effort=self.config.reasoning_effort,
            settings=settings,
            usage=context.usage,
            cancelled=context.cancelled,
            registry=registry if isinstance(registry, GateRegistry) else None,
        )


class _Loop:
    """One run of the conversation: call the model, run its tools, record each step."""

    def __init__(
        self,
        client: ModelClient,
        tools: SreTools,
        writer: TrajectoryWriter,
        options: SreAgentOptions,
        cancelled: threading.Event,
    ) -> None:
        self.client, self.tools, self.writer = client, tools, writer
        self.options, self.cancelled = options, cancelled
        self.messages: list[dict[str, Any]] = []
        self.calls = 0
        self.definitions = tool_definitions()

    def run(self, system: str, task: str) -> None:
        self.writer.add(source="system", message=system)
        self.writer.add(source="user", message=task)
        self.messages = [{"role": "system", "content": system}, {"role": "user", "content": task}]
        try:
            final, reason = self._loop()
        except BaseException as exc:
            self._finish(None, f"crashed: {type(exc).__name__}: {exc}"[:500])
            raise
        self._finish(final, reason)

    def _loop(self) -> tuple[str | None, str]:
        text_replies = 0
        for _ in range(self.options.max_steps):
            if self.cancelled.is_set():
                raise Cancelled("the agent was cancelled")
            if self._tokens_used() >= self.options.max_tokens_total:
                return None, "token_budget"
            try:
                completion = self.client.complete(
                    self.messages, tools=self.definitions, **self._params()
                )
            except ContextLengthExceeded:
                return None, "context_length"
            self.calls += 1
            final = self._step(completion)
            if final is not None:
                return final, "submitted"
            text_replies = 0 if completion.tool_calls else text_replies + 1
            if text_replies >= self.options.max_text_replies:
                return completion.content or None, "no_tool_call"
            if not completion.tool_calls:
                self.messages.append({"role": "user", "content": NUDGE})
                self.writer.add(source="user", message=NUDGE)
        return None, "max_steps"

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.options.max_output_tokens is not None:
            params["max_tokens"] = self.options.max_output_tokens
        if self.options.temperature is not None:
            params["temperature"] = self.options.temperature
        return params

    def _step(self, completion: Completion) -> str | None:
        """Record the model's step, then run its tools, saving after each; the answer."""
        self.messages.append(completion.assistant_message())
        parsed = [self.tools.parse(c.name, c.arguments) for c in completion.tool_calls]
        step = self.writer.add(
            source="agent",
            model_name=completion.model,
            reasoning_effort=self.client.reasoning_effort,
            message=completion.content,
            reasoning_content=completion.reasoning_content,
            tool_calls=[
                ToolCall(tool_call_id=c.id, function_name=c.name, arguments=p.arguments)
                for c, p in zip(completion.tool_calls, parsed, strict=True)
            ]
            or None,
            metrics=StepMetrics(
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                cached_tokens=completion.cached_tokens,
                cost_usd=completion.cost_usd,
            ),
            extra=invalid_calls_extra(completion.tool_calls, parsed),
        )
        final: str | None = None
        for call, parsed_call in zip(completion.tool_calls, parsed, strict=True):
            if final is not None:
                result = ToolResult("not run: the answer was already submitted", error=True)
            else:
                result = self.tools.execute(parsed_call)
                final = result.final_answer
            self.messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": result.content}
            )
            results = step.observation.results if step.observation else []
            results.append(ObservationResult(source_call_id=call.id, content=result.content))
            step.observation = Observation(results=results)
            self.writer.save()
        return final

    def _tokens_used(self) -> int:
        return sum((m.prompt_tokens or 0) + (m.completion_tokens or 0) for m in self._metrics())

    def _metrics(self) -> list[StepMetrics]:
        return [s.metrics for s in self.writer.trajectory.steps if s.metrics is not None]

    def _finish(self, final: str | None, reason: str) -> None:
        metrics = self._metrics()
        self.writer.finish(
            final_answer=final,
            metrics=FinalMetrics(
                total_prompt_tokens=sum(m.prompt_tokens or 0 for m in metrics),
                total_completion_tokens=sum(m.completion_tokens or 0 for m in metrics),
                total_cached_tokens=sum(m.cached_tokens or 0 for m in metrics),
                total_cost_usd=sum(m.cost_usd or 0.0 for m in metrics),
                total_steps=len(self.writer.trajectory.steps),
                extra={
                    "stop_reason": reason,
                    "model_calls": self.calls,
                    "max_steps": self.options.max_steps,
                    "max_tokens_total": self.options.max_tokens_total,
                },
            ),
        )
