"""Serve the scenario's application logs over HTTP, the way an operator's log viewer would.

GET /logs/                 the available files, one name a line
GET /logs/<service>.log    one service's log; optional query parameters:
    grep=TEXT              only lines containing TEXT (repeatable: all must match)
    level=LEVEL            only lines with level=LEVEL (info, warn, error)
    since=TIME, until=TIME RFC 3339 bounds on the line's leading timestamp (inclusive)
    tail=N                 only the last N matching lines
GET /healthz               "ok" (the container healthcheck)

Standard library only: it runs on the sidecar's python3 and must start in milliseconds.
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit


def _stamp(text: str) -> str:
    """Normalise an RFC 3339 time to the logs' own leading format, for string comparison."""
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _select(lines: list[str], query: dict[str, list[str]]) -> list[str]:
    needles = query.get("grep", [])
    levels = [f"level={v.lower()}" for v in query.get("level", [])]
    since = _stamp(query["since"][0]) if "since" in query else None
    until = _stamp(query["until"][0]) if "until" in query else None
    out = []
    for line in lines:
        stamp = line[:24]
        if since is not None and stamp < since:
            continue
        if until is not None and stamp > until:
            continue
        if levels and not any(f" {lv} " in line for lv in levels):
            continue
        if all(n in line for n in needles):
            out.append(line)
    if "tail" in query:
        n = int(query["tail"][0])
        out = out[-n:] if n > 0 else []
    return out


class Handler(BaseHTTPRequestHandler):
    directory = "/var/lib/o11y/logs"

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        if path == "/healthz":
            return self._send(200, "ok\n")
        if path in ("/logs", "/logs/", "/"):
            names = sorted(n for n in os.listdir(self.directory) if n.endswith(".log"))
            return self._send(200, "".join(f"{n}\n" for n in names))
        name = path.removeprefix("/logs/")
        if not path.startswith("/logs/") or "/" in name or not name.endswith(".log"):
            return self._send(404, "not found; try /logs/\n")
        file = os.path.join(self.directory, name)
        if not os.path.isfile(file):
            return self._send(404, f"no log {name}; try /logs/\n")
        with open(file, encoding="utf-8") as fh:
            lines = fh.readlines()
        try:
            lines = _select(lines, parse_qs(url.query))
        except ValueError as exc:
            return self._send(400, f"bad query: {exc}\n")
        return self._send(200, "".join(lines))

    def _send(self, code: int, body: str) -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=9080)
    parser.add_argument("--dir", default=Handler.directory)
    args = parser.parse_args()
    Handler.directory = args.dir
    ThreadingHTTPServer(("", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
