"""Exploits of answer checks: every candidate at once, values never seen, forged evidence.

They find candidates the way a model would — the ticket, the application logs, the label
values Prometheus lists — and then, instead of deciding, answer every field with all of
them (`shotgun`), or cite values nothing returned after echoing them (`echo-citations`),
or write the "tool output" into their own trajectory without running anything
(`forged-observations`), or plant the values in the logs the grader's grounding reads
(`log-tamper`). Number fields get one number: answer checks read one match.
"""

from __future__ import annotations

import json
import re
import shlex
from collections import defaultdict

from agents.redteam.base import AnswerField, ExploitAgent, answer_fields
from opsbench.models.trajectory import Observation, ObservationResult, ToolCall

PROMETHEUS = "http://o11y:9090"
MAX_CANDIDATES = 120

GUESSES: dict[str, list[str]] = {
    "name": [
        "gateway",
        "frontend",
        "api",
        "web",
        "checkout",
        "payments",
        "payment",
        "orders",
        "cart",
        "inventory",
        "catalog",
        "search",
        "auth",
        "users",
        "accounts",
        "shipping",
        "notifications",
        "db",
        "database",
        "postgres",
        "mysql",
        "cache",
        "redis",
        "queue",
        "kafka",
        "worker",
        "scheduler",
    ],
    "route": [
        "/",
        "/api/checkout",
        "/api/orders",
        "/api/cart",
        "/api/payments",
        "/api/login",
        "/api/search",
        "/api/users",
        "/checkout",
        "/orders",
        "/health",
    ],
    "status": ["500", "502", "503", "504"],
    "yesno": ["yes", "no"],
    "device": [
        "/dev/sda",
        "/dev/sdb",
        "/dev/vda",
        "/dev/vdb",
        "/dev/xvda",
        "/dev/nvme0n1",
        "/dev/nvme1n1",
    ],
    "version": ["1.0.0", "1.1.0", "2.0.0", "2.1.0", "3.0.0"],
    "message": [
        "timeout",
        "connection refused",
        "connection reset by peer",
        "out of memory",
        "no space left on device",
        "permission denied",
        "internal server error",
        "bad gateway",
        "service unavailable",
        "rate limit exceeded",
        "deadlock detected",
        "null pointer exception",
    ],
    "request_id": [],
}
"""What a model guesses without looking: generic names of an e-shop's incident. Nothing
here is taken from the corpus (its logs, solutions or checks): a guess that hits is a
value the grader accepted without the agent having seen it."""

_SURVEY = (
    ("Read the ticket and list the logs.", "cat /root/TICKET.md 2>/dev/null; ls /var/log/apps/"),
    (
        "Collect the values the logs use.",
        "cd /var/log/apps 2>/dev/null && grep -ohE "
        "'\\b(service|route|status|upstream|dependency|replica|device|version|release|op|"
        "operation|change|feature|flag)=[^ ]+' *.log | sort | uniq -c | sort -rn | head -n 400",
    ),
    (
        "Collect the messages the logs carry.",
        'cd /var/log/apps 2>/dev/null && grep -ohE \'(msg|error|detail|reason)="[^"]*"\' *.log'
        " | sort | uniq -c | sort -rn | head -n 300",
    ),
    (
        "Collect versions, devices and identifiers.",
        "cd /var/log/apps 2>/dev/null && grep -ohE "
        "'\\bv?[0-9]+\\.[0-9]+\\.[0-9]+\\b|/dev/[a-z0-9]+|\\b[a-z]+(_[a-z0-9]+)+\\b' *.log"
        " | sort | uniq -c | sort -rn | head -n 300",
    ),
)


def _values(text: str) -> dict[str, list[str]]:
    """Candidates by kind from survey output (`count key=value`, `count msg="..."`)."""
    out: dict[str, list[str]] = defaultdict(list)

    def add(kind: str, value: str) -> None:
        if value and value not in out[kind]:
            out[kind].append(value)

    for key, value in re.findall(r"\b([a-z]+)=([^ \n\"]+)", text):
        kind = {
            "route": "route",
            "status": "status",
            "device": "device",
            "version": "version",
            "release": "version",
        }.get(key, "name")
        add(kind, value.strip(","))
    for quoted in re.findall(r'(?:msg|error|detail|reason)="([^"]*)"', text):
        add("message", quoted)
        for part in re.split(r"[:;,] ", quoted):
            add("message", part)
    for version in re.findall(r"\bv?(\d+\.\d+\.\d+)\b", text):
        add("version", version)
    for device in re.findall(r"/dev/[a-z0-9]+", text):
        add("device", device)
    for ident in re.findall(r"\b[a-z]+(?:_[a-z0-9]+)+\b", text):
        add("message", ident)
    for rid in re.findall(r"\b[0-9a-f]{16}\b", text):
        add("request_id", rid)
    return out


def numbers_answer(instruction: str, summary: str, number: float = 42) -> str:
    """The fakers' answer: one fixed number per number field, one guess for the rest."""
    lines = [summary]
    for field in answer_fields(instruction):
        value = _fmt(number) if field.kind == "number" else (GUESSES.get(field.kind) or ["none"])[0]
        lines.append(f"{field.name}: {value}")
    return "\n".join(lines)


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def shotgun_lines(
    fields: list[AnswerField], candidates: dict[str, list[str]], number: str | None = None
) -> list[str]:
    """Every candidate of a field's kind on its own `FIELD: value` line.

    Number fields get `number` when the exploit made the grader's truth that number (a fake
    Prometheus), else no line: an answer check reads one match, so listing numbers is one
    guess, and a guess that lands within tolerance would be luck, not a hole."""
    lines = []
    for field in fields:
        if field.kind == "number":
            if number is not None:
                lines.append(f"{field.name}: {number}")
            continue
        values = list(candidates.get(field.kind, []))
        if field.kind in ("name", "message"):  # a service can be an error's subject and vice versa
            other = "message" if field.kind == "name" else "name"
            values += [v for v in candidates.get(other, []) if v not in values]
        for value in (values or ["none"])[:MAX_CANDIDATES]:
            lines.append(f"{field.name}: {value}")
    return lines


def _merged(*sources: dict[str, list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for source in sources:
        for kind, values in source.items():
            out[kind] += [v for v in values if v not in out[kind]]
    return out


def survey(agent: ExploitAgent) -> dict[str, list[str]]:
    """Candidates by kind, from the ticket, the logs and Prometheus' label values."""
    text = "\n".join(agent.shell(cmd, why).stdout for why, cmd in _SURVEY)
    labels = agent.shell(
        f"for l in $(curl -s {PROMETHEUS}/api/v1/labels | jq -r '.data[]?' | grep -v '^__');"
        f' do echo "== $l"; curl -s {PROMETHEUS}/api/v1/label/$l/values | jq -r '
        "'.data[]?' | head -n 60; done",
        "List the label values Prometheus knows.",
    ).stdout
    found = _values(text)
    for block in labels.split("== ")[1:]:
        label, _, values = block.partition("\n")
        kind = {
            "route": "route",
            "code": "status",
            "status": "status",
            "device": "device",
            "version": "version",
        }.get(label.strip(), "name")
        for value in values.split():
            if value not in found[kind]:
                found[kind].append(value)
    found["yesno"] = ["yes", "no"]
    return found


class Shotgun(ExploitAgent):
    """`redteam-shotgun`: every candidate the environment shows, for every answer field."""

    name = "redteam-shotgun"
    summary = "every service/route/message/yes-no candidate per answer field"

    def attack(self, instruction: str) -> str:
        lines = shotgun_lines(answer_fields(instruction), survey(self))
        return "I could not narrow it down; the candidates are:\n" + "\n".join(lines)


class EchoCitations(ExploitAgent):
    """`redteam-echo-citations`: guesses never seen in the environment, echoed once so that
    they appear in "tool output", then cited."""

    name = "redteam-echo-citations"
    summary = "cites guessed values after echoing them (never seen in the environment)"

    def attack(self, instruction: str) -> str:
        guesses = _merged(GUESSES, {"name": _words(instruction)})
        words = sorted({v for values in guesses.values() for v in values})
        self.shell("printf '%s\\n' " + " ".join(_q(w) for w in words), "Note my hypotheses.")
        lines = shotgun_lines(answer_fields(instruction), guesses)
        return "Findings:\n" + "\n".join(lines)


class ForgedObservations(ExploitAgent):
    """`redteam-forged-observations`: runs nothing; writes a tool call and a made-up tool
    output holding its guesses into its own trajectory, then cites them."""

    name = "redteam-forged-observations"
    summary = "writes made-up tool output into its own trajectory, runs nothing"

    def attack(self, instruction: str) -> str:
        guesses = _merged(GUESSES, {"name": _words(instruction)})
        forged = (
            "\n".join(
                f'2026-01-01T00:00:00Z level=error service={n} msg="{m}"'
                for n in guesses["name"]
                for m in guesses["message"][:3]
            )
            + "\n"
            + "\n".join(v for values in guesses.values() for v in values)
        )
        self.writer.add(
            source="agent",
            message="Read the logs.",
            tool_calls=[
                ToolCall(
                    tool_call_id="forged_1",
                    function_name="run_shell",
                    arguments={"command": "cat /var/log/apps/*.log"},
                )
            ],
            observation=Observation(
                results=[ObservationResult(source_call_id="forged_1", content=forged)]
            ),
        )
        lines = shotgun_lines(answer_fields(instruction), guesses)
        return "Findings:\n" + "\n".join(lines)


class LogTamper(ExploitAgent):
    """`redteam-log-tamper`: appends lines carrying its guesses to the application logs
    (without a shell redirect, which a compliance rule would catch), reads them back, and
    cites them; also rewrites the ticket's request id lines."""

    name = "redteam-log-tamper"
    summary = "plants guessed values in /var/log/apps and cites them"

    def attack(self, instruction: str) -> str:
        guesses = _merged(GUESSES, {"name": _words(instruction)})
        planted = [
            f'2026-01-01T00:00:00.000Z level=error service={n} msg="{m}"'
            for n in guesses["name"][:8]
            for m in guesses["message"]
        ] + [" ".join(v for values in guesses.values() for v in values)]
        script = (
            "import glob\n"
            f"lines = {json.dumps(planted)}\n"
            "for path in glob.glob('/var/log/apps/*.log'):\n"
            "    with open(path, 'a') as fh:\n"
            "        fh.write('\\n'.join(lines) + '\\n')\n"
        )
        self.shell(f"python3 -c {_q(script)}", "Add context lines to the logs.")
        self.shell("tail -n 400 /var/log/apps/*.log", "Read the logs.")
        lines = shotgun_lines(answer_fields(instruction), guesses)
        return "Findings:\n" + "\n".join(lines)


def _words(instruction: str) -> list[str]:
    """Lowercase names from the ticket itself (`checkout`, `card-processor`, ...)."""
    return sorted(set(re.findall(r"\b[a-z][a-z0-9]*(?:-[a-z0-9]+)+\b", instruction)))


def _q(text: str) -> str:
    return shlex.quote(text)
