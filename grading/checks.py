"""Deterministic checks of the environment's state after the agent.

Each check is the spec's own model (`opsbench.models.spec.Check`) and runs through the
runner registered for its class: the spec union is the one list of check kinds. This module
is copied into every generated task (`tests/opsbench_grading.zip`, with the models it
imports) so Harbor's in-container verifier runs the very same code the host grader runs.

Checks trust nothing the agent could have changed (DESIGN: the trust boundary). On the
host, `exec` runs in the trusted verifier — opsbench's own container sharing only the
task's network (its localhost and sidecars), with its own tools and its own name
resolution — files are read through the engine (`read_file`), and only a command check
that says `in_task` runs the task's own program (`task_exec`), paired with a behavioural
check. Under Harbor the three are one subprocess in the shared container (see README).

Answers are read once per field: every match of a field's pattern counts, and two
different values, or a list of candidates on the field's line, fail as ambiguous.
Grounding matches whole tokens of what the agent's tools returned.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from opsbench.models.spec import (
    AnswerCheck,
    Check,
    CheckBase,
    CommandCheck,
    FileCheck,
    HttpCheck,
    ProcessCheck,
    PromqlCheck,
    TranscriptCheck,
)
from opsbench.models.verdict import CheckVerdict


@dataclass
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str = ""


Exec = Callable[[str, str, float], ExecResult]
"""(shell command, user, timeout seconds) -> result, run inside the task container."""


@dataclass(frozen=True)
class FileState:
    """A file in the task container as the engine sees it."""

    exists: bool
    kind: str = ""
    """file, dir, symlink or other."""
    mode: str = ""
    owner: str = ""
    content: str | None = None
    """The first MiB of a regular file, decoded as UTF-8 with replacement."""


FileReader = Callable[[str], FileState]


@dataclass(frozen=True)
class SeenOutput:
    """One command the agent ran, and what it returned (stdout and stderr)."""

    command: str
    output: str


@dataclass(frozen=True)
class ProcessState:
    pid: str
    ppid: str
    user: str
    command: str


ProcessLister = Callable[[], list[ProcessState]]


@dataclass
class CheckContext:
    exec: Exec
    """Trusted: the verifier's own tools, in the task's network."""
    task_exec: Exec | None = None
    """The task container itself (the agent's binaries): only for `in_task` checks."""
    read_file: FileReader | None = None
    """The task's files through the engine; None reads them with `exec` (Harbor)."""
    processes: ProcessLister | None = None
    """The task's processes as the engine lists them; None lists them with `exec`."""
    nonce: str = ""
    """Fresh per trial: `nonce` http checks require the application to echo it."""
    scenario_time: float | None = None
    """Unix seconds of the scenario clock: PromQL checks query at this instant."""
    prometheus_url: str = "http://o11y:9090"
    final_answer: str = ""
    observations: list[SeenOutput] = field(default_factory=list)
    """What the agent's commands returned, from the audit record (not its trajectory)."""
    grounding: bool = True
    """False under Harbor: there is no audit record, so grounding is not checked."""


NOT_GROUNDED = "not checked: no audit record of what the agent's commands returned (Harbor)"

MAX_EVIDENCE = 4000


def clip(text: str, limit: int = MAX_EVIDENCE) -> str:
    """Keep head and tail of long text with a marker, so evidence stays readable."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - limit} characters truncated ...]\n{text[-half:]}"


class CheckFinding(NamedTuple):
    """What a check runner found: the verdict's own part, before name, kind and weight."""

    passed: bool
    message: str
    evidence: dict[str, Any]


def _finding(problems: list[str], evidence: dict[str, Any]) -> CheckFinding:
    return CheckFinding(not problems, "; ".join(problems) or "ok", evidence)


C = TypeVar("C", bound=CheckBase)
Runner = Callable[[C, "CheckContext"], CheckFinding]
RUNNERS: dict[type[CheckBase], Runner[Any]] = {}
"""The runner for each check model; a test holds it to the spec's `Check` union."""


def _runs(model: type[C]) -> Callable[[Runner[C]], Runner[C]]:
    def register(runner: Runner[C]) -> Runner[C]:
        RUNNERS[model] = runner
        return runner

    return register


def run_check(check: Check, ctx: CheckContext) -> CheckVerdict:
    """Evaluate one check of a spec; never raises for bad state."""
    runner = RUNNERS[type(check)]
    try:
        finding = runner(check, ctx)
    except Exception as exc:  # a broken check is a failed check, with the reason
        if getattr(exc, "infrastructure", False):  # ...but an engine fault is nobody's verdict
            raise
        finding = CheckFinding(False, f"check could not run: {exc}", {})
    return CheckVerdict(
        name=check.name,
        kind=check.kind,
        weight=check.weight,
        passed=finding.passed,
        message=finding.message,
        evidence=finding.evidence,
    )


@_runs(CommandCheck)
def _command(check: CommandCheck, ctx: CheckContext) -> CheckFinding:
    run = ctx.task_exec if check.in_task and ctx.task_exec is not None else ctx.exec
    res = run(check.run, check.user, check.timeout_sec)
    evidence = {
        "command": check.run,
        "where": "task container" if check.in_task else "verifier",
        "exit_code": res.exit_code,
        "stdout": clip(res.stdout),
        "stderr": clip(res.stderr),
    }
    problems = []
    if check.exit_code is not None and res.exit_code != check.exit_code:
        problems.append(f"exit code {res.exit_code}, expected {check.exit_code}")
    if check.stdout_matches and not re.search(check.stdout_matches, res.stdout, re.M):
        problems.append(f"stdout does not match /{check.stdout_matches}/")
    if check.stdout_not_matches and re.search(check.stdout_not_matches, res.stdout, re.M):
        problems.append(f"stdout matches forbidden /{check.stdout_not_matches}/")
    return _finding(problems, evidence)


_FILE_PROBE = """
import json, os, pwd, sys
p = sys.argv[1]
out = {"exists": os.path.lexists(p)}
if out["exists"]:
    st = os.lstat(p)
    out["kind"] = "symlink" if os.path.islink(p) else "file" if os.path.isfile(p) else "dir" if os.path.isdir(p) else "other"
    out["mode"] = format(st.st_mode & 0o7777, "04o")
    try:
        out["owner"] = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        out["owner"] = str(st.st_uid)
    if out["kind"] == "file":
        with open(p, "rb") as f:
            out["content"] = f.read(1048576).decode("utf-8", "replace")
print(json.dumps(out))
"""


@_runs(FileCheck)
def _file(check: FileCheck, ctx: CheckContext) -> CheckFinding:
    state = ctx.read_file(check.path) if ctx.read_file else _probe_file(ctx, check.path)
    content = state.content
    evidence: dict[str, Any] = {
        "path": check.path,
        "exists": state.exists,
        "kind": state.kind,
        "mode": state.mode,
        "owner": state.owner,
    }
    if content is not None:
        evidence["content"] = clip(content)
    problems = []
    if state.exists != check.exists:
        problems.append("file exists" if state.exists else "file is missing")
    elif state.exists:
        if state.kind == "symlink" and (
            check.contains or check.not_contains or check.mode or check.forbid_mode_bits
        ):
            problems.append("a symlink stands where the file should be")
        if check.contains and not re.search(check.contains, content or "", re.M):
            problems.append(f"content does not match /{check.contains}/")
        if check.not_contains and re.search(check.not_contains, content or "", re.M):
            problems.append(f"content matches forbidden /{check.not_contains}/")
        if check.mode and int(state.mode, 8) != int(check.mode, 8):
            problems.append(f"mode {state.mode}, expected {check.mode}")
        if check.forbid_mode_bits and int(state.mode or "0", 8) & int(check.forbid_mode_bits, 8):
            problems.append(f"mode {state.mode} sets bits of {check.forbid_mode_bits}")
        if check.owner and state.owner != check.owner:
            problems.append(f"owner {state.owner}, expected {check.owner}")
    return _finding(problems, evidence)


def _probe_file(ctx: CheckContext, path: str) -> FileState:
    """Read a file with `exec` (the in-container grader, which shares the container)."""
    res = ctx.exec(f"python3 -c {shlex.quote(_FILE_PROBE)} {shlex.quote(path)}", "root", 30)
    if res.exit_code != 0:
        raise RuntimeError(f"file probe failed: {res.stderr.strip()[-300:]}")
    info = json.loads(res.stdout)
    return FileState(
        exists=info["exists"],
        kind=info.get("kind", ""),
        mode=info.get("mode", ""),
        owner=info.get("owner", ""),
        content=info.get("content"),
    )


@_runs(ProcessCheck)
def _process(check: ProcessCheck, ctx: CheckContext) -> CheckFinding:
    procs = ctx.processes() if ctx.processes else _probe_processes(ctx)
    by_pid = {p.pid: p for p in procs}
    matched = []
    for p in procs:
        if not re.search(check.command_matches, p.command):
            continue
        if check.user is not None and p.user != check.user:
            continue
        parent = by_pid.get(p.ppid)
        if check.parent_matches and not (
            parent and re.search(check.parent_matches, parent.command)
        ):
            continue
        matched.append(p)
    evidence = {
        "matched": [f"{p.pid} {p.user} {p.command}"[:300] for p in matched[:20]],
        "processes": len(procs),
    }
    problems = []
    if len(matched) < check.min_count:
        problems.append(f"{len(matched)} matching processes, expected at least {check.min_count}")
    if check.max_count is not None and len(matched) > check.max_count:
        problems.append(f"{len(matched)} matching processes, expected at most {check.max_count}")
    return _finding(problems, evidence)


def _probe_processes(ctx: CheckContext) -> list[ProcessState]:
    """`ps` through `exec` (the in-container grader, which shares the container)."""
    res = ctx.exec("ps -eo pid=,ppid=,user=,args=", "root", 30)
    out = []
    for line in res.stdout.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4:
            out.append(ProcessState(*parts))
    return out


_HTTP_PROBE = """
import json, socket, ssl, sys, urllib.request, urllib.error
url, method, insecure, nonce, resolve = sys.argv[1:6]
if resolve:
    r_host, r_port, r_addr = resolve.split(":")
    real = socket.getaddrinfo
    def pinned(host, port, *a, **k):
        if host == r_host and str(port) == r_port:
            host = r_addr
        return real(host, port, *a, **k)
    socket.getaddrinfo = pinned
ctx = ssl._create_unverified_context() if insecure == "1" else None
headers = {"X-Opsbench-Nonce": nonce} if nonce else {}
req = urllib.request.Request(url, method=method, headers=headers)
try:
    with urllib.request.urlopen(req, timeout=20, context=ctx) as r:
        out = {"status": r.status, "body": r.read(1048576).decode("utf-8", "replace")}
except urllib.error.HTTPError as e:
    out = {"status": e.code, "body": e.read(1048576).decode("utf-8", "replace")}
except Exception as e:
    out = {"status": None, "error": f"{type(e).__name__}: {e}"}
print(json.dumps(out))
"""


def http_fetch(
    ctx: CheckContext,
    url: str,
    method: str = "GET",
    insecure: bool = False,
    nonce: str = "",
    resolve: str = "",
) -> dict[str, Any]:
    """Fetch `url` with the trusted verifier's python; returns status, body or error."""
    args = " ".join(shlex.quote(a) for a in (url, method, str(int(insecure)), nonce, resolve))
    cmd = f"python3 -c {shlex.quote(_HTTP_PROBE)} {args}"
    res = ctx.exec(cmd, "root", 40)
    if res.exit_code != 0:
        raise RuntimeError(f"http probe failed: {res.stderr.strip()[-300:]}")
    out: dict[str, Any] = json.loads(res.stdout)
    return out


def _json_path(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


@_runs(HttpCheck)
def _http(check: HttpCheck, ctx: CheckContext) -> CheckFinding:
    nonce = ctx.nonce if check.nonce else ""
    url = check.url
    if nonce:
        url += ("&" if "?" in url else "?") + f"nonce={nonce}"
    out = http_fetch(ctx, url, check.method, check.insecure, nonce, check.resolve or "")
    body = out.get("body", "")
    evidence = {"url": url, "status": out.get("status"), "body": clip(body)}
    if out.get("error"):
        evidence["error"] = out["error"]
        return CheckFinding(False, f"request failed: {out['error']}", evidence)
    problems = []
    if check.status is not None and out["status"] != check.status:
        problems.append(f"status {out['status']}, expected {check.status}")
    if check.body_matches and not re.search(check.body_matches, body, re.M):
        problems.append(f"body does not match /{check.body_matches}/")
    if check.nonce and not nonce:
        problems.append("no nonce to send (the grader was given none)")
    elif nonce and nonce not in body:
        problems.append("the reply does not carry this request's nonce: not the application")
    if check.json_path:
        try:
            value = _json_path(json.loads(body), check.json_path)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            problems.append(f"json path {check.json_path} not found ({exc})")
        else:
            evidence["json_value"] = value
            if check.json_equals is not None and value != check.json_equals:
                problems.append(f"{check.json_path} is {value!r}, expected {check.json_equals!r}")
    return _finding(problems, evidence)


def prometheus_query(
    ctx: CheckContext, query: str, range_minutes: int | None = None
) -> dict[str, Any]:
    """Query the trial's Prometheus at the scenario time (from inside the container)."""
    from urllib.parse import urlencode

    at = ctx.scenario_time
    if range_minutes:
        end = at if at is not None else 0
        params = {"query": query, "start": end - range_minutes * 60, "end": end, "step": 60}
        url = f"{ctx.prometheus_url}/api/v1/query_range?{urlencode(params)}"
    else:
        params = {"query": query, **({"time": at} if at is not None else {})}
        url = f"{ctx.prometheus_url}/api/v1/query?{urlencode(params)}"
    out = http_fetch(ctx, url)
    if out.get("error") or out.get("status") != 200:
        raise RuntimeError(
            f"prometheus query failed: {out.get('error') or out.get('body', '')[:300]}"
        )
    payload: dict[str, Any] = json.loads(out["body"])
    return payload


def _series_value(series: dict[str, Any]) -> float:
    if "value" in series:
        return float(series["value"][1])
    values = series.get("values") or []
    return float(values[-1][1]) if values else math.nan


@_runs(PromqlCheck)
def _promql(check: PromqlCheck, ctx: CheckContext) -> CheckFinding:
    payload = prometheus_query(ctx, check.query, check.range_minutes)
    data = payload.get("data", {})
    result = data.get("result", [])
    if data.get("resultType") == "scalar":
        result = [{"metric": {}, "value": result}]
    ranked = sorted(result, key=_series_value, reverse=True)
    evidence = {"query": check.query, "result": ranked[:20], "series": len(ranked)}
    problems = []
    if check.series_count is not None and len(ranked) != check.series_count:
        problems.append(f"{len(ranked)} series, expected {check.series_count}")
    top = ranked[0] if ranked else None
    if check.value is not None:
        if top is None:
            problems.append("no series returned")
        else:
            got = _series_value(top)
            if not abs(got - check.value) <= check.tolerance:
                problems.append(f"value {got}, expected {check.value} ± {check.tolerance}")
    if check.labels:
        got_labels = top["metric"] if top else {}
        wrong = {k: v for k, v in check.labels.items() if got_labels.get(k) != v}
        if wrong:
            problems.append(f"top series labels {got_labels}, expected {check.labels}")
    return _finding(problems, evidence)


class FieldRead(NamedTuple):
    """Every value the final answer gives one field, and whether its line lists several."""

    values: list[str]
    listed: bool

    def ambiguity(self, distinct: list[str]) -> str:
        """Why the field cannot be read as one answer ('' when it can)."""
        if len(distinct) > 1:
            return f"several values for one field: {', '.join(distinct)}"
        if self.listed:
            return "a list of candidates where one value is asked for"
        return ""


_LIST_SEPARATOR = re.compile(r"^\s*(?:[,/|;&+]|\bor\b|\band\b)\s*\S", re.IGNORECASE)


_LABEL = re.compile(r"([A-Z][A-Z0-9_]{2,}):")


def read_field(pattern: str, answer: str) -> FieldRead:
    """The field's value(s): each match's group 1, read once.

    Two different values (case-insensitive) are ambiguous, and so is a list of
    candidates after the value on the field's own line (`a, b`, `a or b`, `a / b`), and
    so are several lines for the field's label (`ROOT_ERROR:`) even where the pattern
    captures only one of them (a pattern that names the candidates it accepts).
    """
    values: list[str] = []
    label = _LABEL.search(pattern)
    lines = (
        {
            m.group(1).strip().rstrip(".").lower()
            for m in re.finditer(rf"(?m)^\W*{label.group(1)}:[ \t]*(\S.*?)[ \t]*$", answer)
        }
        if label
        else set()
    )
    listed = len(lines) > 1
    for match in re.finditer(pattern, answer, re.M):
        value = (match.group(1) if match.groups() else match.group(0)) or ""
        values.append(value.strip())
        end = match.end(1) if match.groups() else match.end()
        rest = answer[end:].split("\n", 1)[0]
        trailing = value.rstrip()[-1:] in (",", ";", "/", "|", "&", "+")
        listed = listed or bool(_LIST_SEPARATOR.match(rest)) or (trailing and bool(rest.strip()))
    return FieldRead(values, listed)


def seen_as_token(value: str, outputs: str) -> bool:
    """`value` occurs in the tool outputs as a whole token, not inside a longer word."""
    rx = r"(?<![\w-])" + re.escape(value) + r"(?![\w-])"
    return re.search(rx, outputs, re.IGNORECASE) is not None


def grounded(value: str, observations: list[SeenOutput]) -> bool:
    """A command returned `value` on a line the agent had not typed itself.

    An output line that appears verbatim in that command or an earlier one is the agent's
    own text shown back (`echo payments`, a file written and read back), not the
    environment's; a value counts as seen only on some other line.
    """
    typed = ""
    for o in observations:
        typed += "\n" + o.command
        for line in o.output.splitlines():
            if seen_as_token(value, line) and line.strip() not in typed:
                return True
    return False


@_runs(TranscriptCheck)
def _transcript(check: TranscriptCheck, ctx: CheckContext) -> CheckFinding:
    field = read_field(check.answer_matches, ctx.final_answer)
    cited = sorted(set(field.values))
    ambiguous = field.ambiguity(sorted({c.lower() for c in cited}))
    checked = check.ground and ctx.grounding
    seen = [c for c in cited if not checked or grounded(c, ctx.observations)]
    invented = [c for c in cited if c not in seen]
    truth = {m.lower() for m in check.must_cite}
    missing = [m for m in check.must_cite if m.lower() not in {c.lower() for c in cited}]
    extra = [c for c in cited if truth and c.lower() not in truth]
    evidence: dict[str, Any] = {
        "cited": cited,
        "grounded": seen,
        "not_in_tool_output": invented,
        "missing": missing,
        "not_the_answer": extra,
    }
    if check.ground and not ctx.grounding:
        evidence["grounding"] = NOT_GROUNDED
    problems = []
    if not cited:
        problems.append("the final answer cites nothing matching the pattern")
    if ambiguous:
        problems.append(f"ambiguous: {ambiguous}")
    if invented:
        problems.append(f"cited but never returned by the agent's commands: {', '.join(invented)}")
    if missing:
        problems.append(f"not cited: {', '.join(missing)}")
    if extra and not ambiguous:
        problems.append(f"not the answer: {', '.join(extra)}")
    return _finding(problems, evidence)


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _number(text: str) -> float:
    """The first number in `text`, with `,` and `_` digit separators ignored."""
    match = _NUMBER.search(text.replace(",", "").replace("_", ""))
    if match is None:
        raise ValueError(f"no number in {text.strip()[:80]!r}")
    return float(match.group())


def _canonical(check: AnswerCheck, ctx: CheckContext) -> tuple[float, dict[str, Any]]:
    """The true value for an `answer` check, with where it came from."""
    if check.query:
        payload = prometheus_query(ctx, check.query)
        data = payload.get("data", {})
        result = data.get("result", [])
        if data.get("resultType") == "scalar":
            result = [{"metric": {}, "value": result}]
        ranked = sorted(result, key=_series_value, reverse=True)
        if not ranked:
            raise RuntimeError(f"the query returned no series: {check.query}")
        return _series_value(ranked[0]), {"query": check.query, "result": ranked[:5]}
    if check.run:
        at = "" if ctx.scenario_time is None else str(int(ctx.scenario_time))
        command = f"export SCENARIO_TIME={shlex.quote(at)}\n{check.run}"
        res = ctx.exec(command, "root", check.timeout_sec)
        source = {"command": check.run, "exit_code": res.exit_code, "stdout": clip(res.stdout)}
        if res.exit_code != 0:
            raise RuntimeError(f"the command exited {res.exit_code}: {res.stderr.strip()[-300:]}")
        return _number(res.stdout), source
    if check.value is None:  # the model admits exactly one source: unreachable
        raise RuntimeError("the check has no canonical value")
    return check.value, {"value": check.value}


@_runs(AnswerCheck)
def _answer(check: AnswerCheck, ctx: CheckContext) -> CheckFinding:
    field = read_field(check.pattern, ctx.final_answer)
    evidence: dict[str, Any] = {"pattern": check.pattern}
    if not field.values:
        return CheckFinding(False, "the final answer has no number matching the pattern", evidence)
    evidence["captured"] = field.values
    try:
        numbers = sorted({_number(v) for v in field.values})
    except ValueError as exc:
        return CheckFinding(False, f"the answer's value is not a number: {exc}", evidence)
    ambiguous = field.ambiguity([f"{n:g}" for n in numbers])
    if ambiguous:
        return CheckFinding(False, f"ambiguous: {ambiguous}", evidence)
    got = numbers[0]
    truth, source = _canonical(check, ctx)
    allowed = max(check.tolerance, abs(truth) * check.tolerance_pct / 100)
    evidence.update(answer=got, expected=truth, allowed_difference=allowed, source=source)
    verdict = f"answered {got}, expected {truth:g} ± {allowed:g}"
    right = not (math.isnan(truth) or abs(got - truth) > allowed + 1e-9)
    if check.ground and not ctx.grounding:
        evidence["grounding"] = NOT_GROUNDED
    elif right and check.ground and not number_seen(got, allowed, ctx.observations):
        return CheckFinding(False, f"{verdict}, but no command returned it: a guess", evidence)
    return CheckFinding(right, verdict, evidence)


def number_seen(value: float, allowed: float, observations: list[SeenOutput]) -> bool:
    """A command returned a number within `allowed` of `value`, on a line not typed."""
    typed = ""
    for o in observations:
        typed += "\n" + o.command
        for line in o.output.splitlines():
            if line.strip() in typed:
                continue
            for m in _NUMBER.finditer(line.replace(",", "").replace("_", "")):
                with contextlib.suppress(ValueError):
                    if abs(float(m.group()) - value) <= allowed + 1e-9:
                        return True
    return False
