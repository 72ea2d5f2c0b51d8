"""Deterministic checks of the environment's state after the agent.

Standard library only, with relative imports: this module is copied into every generated
task (`tests/opsbench_grading.zip`) so Harbor's in-container verifier runs the very same code
the host grader runs.

Every check kind runs through one primitive, `exec(command, user, timeout)`, inside the
task container: on the host that is the sandbox's exec, in the container a subprocess.
HTTP and PromQL checks therefore run from inside the trial's private network, where the
sidecars are reachable by name, and both paths see the same thing.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str = ""


Exec = Callable[[str, str, float], ExecResult]
"""(shell command, user, timeout seconds) -> result, run inside the task container."""


@dataclass
class CheckContext:
    exec: Exec
    scenario_time: float | None = None
    """Unix seconds of the scenario clock: PromQL checks query at this instant."""
    prometheus_url: str = "http://o11y:9090"
    final_answer: str = ""
    tool_outputs: list[str] = field(default_factory=list)


@dataclass
class CheckVerdict:
    name: str
    kind: str
    weight: float
    passed: bool
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "weight": self.weight,
            "passed": self.passed,
            "message": self.message,
            "evidence": self.evidence,
        }


MAX_EVIDENCE = 4000


def clip(text: str, limit: int = MAX_EVIDENCE) -> str:
    """Keep head and tail of long text with a marker, so evidence stays readable."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - limit} characters truncated ...]\n{text[-half:]}"


def run_check(check: dict[str, Any], ctx: CheckContext) -> CheckVerdict:
    """Evaluate one check (a spec's `checks[]` entry as JSON); never raises for bad state."""
    runner = _RUNNERS[check["kind"]]
    try:
        passed, message, evidence = runner(check, ctx)
    except Exception as exc:  # a broken check is a failed check, with the reason
        if getattr(exc, "infrastructure", False):  # ...but an engine fault is nobody's verdict
            raise
        passed, message, evidence = False, f"check could not run: {exc}", {}
    return CheckVerdict(
        check["name"], check["kind"], float(check["weight"]), passed, message, evidence
    )


def _command(check: dict[str, Any], ctx: CheckContext) -> tuple[bool, str, dict[str, Any]]:
    res = ctx.exec(check["run"], check.get("user", "root"), float(check["timeout_sec"]))
    evidence = {
        "command": check["run"],
        "exit_code": res.exit_code,
        "stdout": clip(res.stdout),
        "stderr": clip(res.stderr),
    }
    problems = []
    if check.get("exit_code") is not None and res.exit_code != check["exit_code"]:
        problems.append(f"exit code {res.exit_code}, expected {check['exit_code']}")
    if check.get("stdout_matches") and not re.search(check["stdout_matches"], res.stdout, re.M):
        problems.append(f"stdout does not match /{check['stdout_matches']}/")
    if check.get("stdout_not_matches") and re.search(check["stdout_not_matches"], res.stdout, re.M):
        problems.append(f"stdout matches forbidden /{check['stdout_not_matches']}/")
    return not problems, "; ".join(problems) or "ok", evidence


_FILE_PROBE = """
import json, os, pwd, sys
p = sys.argv[1]
out = {"exists": os.path.exists(p)}
if out["exists"]:
    st = os.stat(p)
    out["mode"] = format(st.st_mode & 0o7777, "04o")
    try:
        out["owner"] = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        out["owner"] = str(st.st_uid)
    if os.path.isfile(p):
        with open(p, "rb") as f:
            out["content"] = f.read(1048576).decode("utf-8", "replace")
print(json.dumps(out))
"""


def _file(check: dict[str, Any], ctx: CheckContext) -> tuple[bool, str, dict[str, Any]]:
    res = ctx.exec(
        f"python3 -c {shlex.quote(_FILE_PROBE)} {shlex.quote(check['path'])}", "root", 30
    )
    if res.exit_code != 0:
        raise RuntimeError(f"file probe failed: {res.stderr.strip()[-300:]}")
    info = json.loads(res.stdout)
    content = info.pop("content", None)
    evidence: dict[str, Any] = {"path": check["path"], **info}
    if content is not None:
        evidence["content"] = clip(content)
    problems = []
    if info["exists"] != check.get("exists", True):
        problems.append("file exists" if info["exists"] else "file is missing")
    elif info["exists"]:
        if check.get("contains") and not re.search(check["contains"], content or "", re.M):
            problems.append(f"content does not match /{check['contains']}/")
        if check.get("not_contains") and re.search(check["not_contains"], content or "", re.M):
            problems.append(f"content matches forbidden /{check['not_contains']}/")
        if check.get("mode") and int(info["mode"], 8) != int(check["mode"], 8):
            problems.append(f"mode {info['mode']}, expected {check['mode']}")
        if check.get("owner") and info["owner"] != check["owner"]:
            problems.append(f"owner {info['owner']}, expected {check['owner']}")
    return not problems, "; ".join(problems) or "ok", evidence


_HTTP_PROBE = """
import json, ssl, sys, urllib.request, urllib.error
url, method, insecure = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
ctx = ssl._create_unverified_context() if insecure else None
req = urllib.request.Request(url, method=method)
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
    ctx: CheckContext, url: str, method: str = "GET", insecure: bool = False
) -> dict[str, Any]:
    """Fetch `url` from inside the task container; returns status, body or error."""
    cmd = f"python3 -c {shlex.quote(_HTTP_PROBE)} {shlex.quote(url)} {method} {int(insecure)}"
    res = ctx.exec(cmd, "root", 40)
    if res.exit_code != 0:
        raise RuntimeError(f"http probe failed: {res.stderr.strip()[-300:]}")
    out: dict[str, Any] = json.loads(res.stdout)
    return out


def _json_path(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def _http(check: dict[str, Any], ctx: CheckContext) -> tuple[bool, str, dict[str, Any]]:
    out = http_fetch(ctx, check["url"], check.get("method", "GET"), check.get("insecure", False))
    body = out.get("body", "")
    evidence = {"url": check["url"], "status": out.get("status"), "body": clip(body)}
    if out.get("error"):
        evidence["error"] = out["error"]
        return False, f"request failed: {out['error']}", evidence
    problems = []
    if check.get("status") is not None and out["status"] != check["status"]:
        problems.append(f"status {out['status']}, expected {check['status']}")
    if check.get("body_matches") and not re.search(check["body_matches"], body, re.M):
        problems.append(f"body does not match /{check['body_matches']}/")
    if check.get("json_path"):
        try:
            value = _json_path(json.loads(body), check["json_path"])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            problems.append(f"json path {check['json_path']} not found ({exc})")
        else:
            evidence["json_value"] = value
            if check.get("json_equals") is not None and value != check["json_equals"]:
                problems.append(
                    f"{check['json_path']} is {value!r}, expected {check['json_equals']!r}"
                )
    return not problems, "; ".join(problems) or "ok", evidence


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


def _promql(check: dict[str, Any], ctx: CheckContext) -> tuple[bool, str, dict[str, Any]]:
    payload = prometheus_query(ctx, check["query"], check.get("range_minutes"))
    data = payload.get("data", {})
    result = data.get("result", [])
    if data.get("resultType") == "scalar":
        result = [{"metric": {}, "value": result}]
    ranked = sorted(result, key=_series_value, reverse=True)
    evidence = {"query": check["query"], "result": ranked[:20], "series": len(ranked)}
    problems = []
    if check.get("series_count") is not None and len(ranked) != check["series_count"]:
        problems.append(f"{len(ranked)} series, expected {check['series_count']}")
    top = ranked[0] if ranked else None
    if check.get("value") is not None:
        if top is None:
            problems.append("no series returned")
        else:
            got = _series_value(top)
            if not abs(got - float(check["value"])) <= float(check.get("tolerance", 0)):
                problems.append(
                    f"value {got}, expected {check['value']} ± {check.get('tolerance', 0)}"
                )
    if check.get("labels"):
        got_labels = top["metric"] if top else {}
        wrong = {k: v for k, v in check["labels"].items() if got_labels.get(k) != v}
        if wrong:
            problems.append(f"top series labels {got_labels}, expected {check['labels']}")
    return not problems, "; ".join(problems) or "ok", evidence


def _transcript(check: dict[str, Any], ctx: CheckContext) -> tuple[bool, str, dict[str, Any]]:
    cited = sorted(set(re.findall(check["answer_matches"], ctx.final_answer)))
    seen = "\n".join(ctx.tool_outputs)
    grounded = [c for c in cited if c in seen]
    invented = [c for c in cited if c not in seen]
    missing = [m for m in check.get("must_cite", []) if m not in cited]
    evidence = {
        "cited": cited,
        "grounded": grounded,
        "not_in_tool_output": invented,
        "missing": missing,
    }
    problems = []
    if not cited:
        problems.append("the final answer cites nothing matching the pattern")
    if invented:
        problems.append(f"cited but never seen in tool output: {', '.join(invented)}")
    if missing:
        problems.append(f"not cited: {', '.join(missing)}")
    return not problems, "; ".join(problems) or "ok", evidence


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _number(text: str) -> float:
    """The first number in `text`, with `,` and `_` digit separators ignored."""
    match = _NUMBER.search(text.replace(",", "").replace("_", ""))
    if match is None:
        raise ValueError(f"no number in {text.strip()[:80]!r}")
    return float(match.group())


def _canonical(check: dict[str, Any], ctx: CheckContext) -> tuple[float, dict[str, Any]]:
    """The true value for an `answer` check, with where it came from."""
    if check.get("query"):
        payload = prometheus_query(ctx, check["query"])
        data = payload.get("data", {})
        result = data.get("result", [])
        if data.get("resultType") == "scalar":
            result = [{"metric": {}, "value": result}]
        ranked = sorted(result, key=_series_value, reverse=True)
        if not ranked:
            raise RuntimeError(f"the query returned no series: {check['query']}")
        return _series_value(ranked[0]), {"query": check["query"], "result": ranked[:5]}
    if check.get("run"):
        at = "" if ctx.scenario_time is None else str(int(ctx.scenario_time))
        command = f"export SCENARIO_TIME={shlex.quote(at)}\n{check['run']}"
        res = ctx.exec(command, "root", float(check.get("timeout_sec", 60)))
        source = {"command": check["run"], "exit_code": res.exit_code, "stdout": clip(res.stdout)}
        if res.exit_code != 0:
            raise RuntimeError(f"the command exited {res.exit_code}: {res.stderr.strip()[-300:]}")
        return _number(res.stdout), source
    return float(check["value"]), {"value": check["value"]}


def _answer(check: dict[str, Any], ctx: CheckContext) -> tuple[bool, str, dict[str, Any]]:
    matches = list(re.finditer(check["pattern"], ctx.final_answer, re.M))
    evidence: dict[str, Any] = {"pattern": check["pattern"]}
    if not matches:
        return False, "the final answer has no number matching the pattern", evidence
    captured = matches[-1].group(1) or ""
    evidence["captured"] = captured
    try:
        got = _number(captured)
    except ValueError as exc:
        return False, f"the answer's value is not a number: {exc}", evidence
    truth, source = _canonical(check, ctx)
    allowed = max(
        float(check.get("tolerance", 0)),
        abs(truth) * float(check.get("tolerance_pct", 0)) / 100,
    )
    evidence.update(answer=got, expected=truth, allowed_difference=allowed, source=source)
    if math.isnan(truth) or abs(got - truth) > allowed + 1e-9:
        return False, f"answered {got}, expected {truth:g} ± {allowed:g}", evidence
    return True, f"answered {got}, expected {truth:g} ± {allowed:g}", evidence


_RUNNERS: dict[str, Callable[[dict[str, Any], CheckContext], tuple[bool, str, dict[str, Any]]]] = {
    "command": _command,
    "file": _file,
    "http": _http,
    "promql": _promql,
    "transcript": _transcript,
    "answer": _answer,
}
