"""The trusted verifier: grading sees through the agent's binaries, /etc/hosts and files."""

from __future__ import annotations

import json

import pytest

from opsbench.models.verdict import read_grading_details
from opsbench.paths import ProjectPaths
from tests.runtime.conftest import TrialRunner, leftovers, write_spec

pytestmark = pytest.mark.docker

SPEC = r"""
id: verifier-probe
title: verifier probe
category: remediation
difficulty: easy
statement: Nothing to do.
environment:
  files:
    /opt/app.py: |
      import http.server
      class H(http.server.BaseHTTPRequestHandler):
          def do_GET(self):
              body = ("app-ok " + self.headers.get("X-Opsbench-Nonce", "")).encode()
              self.send_response(200)
              self.end_headers()
              self.wfile.write(body)
          def log_message(self, *a):
              pass
      http.server.ThreadingHTTPServer(("127.0.0.1", 8081), H).serve_forever()
prepare:
  - run: |
      echo real > /etc/marker
      setsid nohup python3 /opt/app.py >/dev/null 2>&1 < /dev/null &
      for i in $(seq 1 50); do curl -s 127.0.0.1:8081 >/dev/null && break; sleep 0.1; done
solution:
  - run: "true"
checks:
  - kind: http
    name: app-echoes-nonce
    url: http://main:8081/
    nonce: true
    body_matches: app-ok
  - kind: command
    name: verifier-curl
    run: command -v curl; curl -s http://localhost:8081/
    stdout_matches: '(?s)^/usr/bin/curl\napp-ok'
  - kind: command
    name: verifier-hosts
    run: getent hosts main
    stdout_matches: '^127\.0\.0\.1\s'
  - kind: file
    name: marker
    path: /etc/marker
    contains: real
  - kind: process
    name: app-running
    command_matches: 'python3 /opt/app\.py'
  - kind: command
    name: fake-program-in-task
    in_task: true
    paired_with: [app-echoes-nonce]
    run: curl -s http://localhost:8081/
    stdout_matches: '^200$'
"""

EXPLOIT = {
    "commands": {
        "fake-curl": "printf '#!/bin/sh\\necho 200\\n' > /usr/local/bin/curl && chmod +x /usr/local/bin/curl",
        "hosts": "echo '6.6.6.6 main' >> /etc/hosts",
        "symlink": "echo real > /tmp/decoy && rm /etc/marker && ln -s /tmp/decoy /etc/marker",
    }
}


def test_grading_ignores_what_the_agent_planted(
    project: ProjectPaths, run_task: TrialRunner
) -> None:
    write_spec(project, "remediation", "verifier-probe", SPEC)

    result, paths = run_task(
        "verifier-probe", "tests.runtime.probe_agents:ProbeAgent", job="verifier-job", **EXPLOIT
    )

    assert result.outcome.value == "graded", result.exception
    probe = json.loads((paths.agent / "probe.json").read_text())
    assert all(v["exit"] == 0 for k, v in probe.items() if k != "whoami"), probe
    details = read_grading_details(paths.grading_details)
    assert details is not None
    verdicts = {c.name: c for c in details.checks}
    assert verdicts["app-echoes-nonce"].passed, verdicts["app-echoes-nonce"].message
    assert verdicts["verifier-curl"].passed, verdicts["verifier-curl"].evidence
    assert verdicts["verifier-hosts"].passed, verdicts["verifier-hosts"].evidence
    assert verdicts["app-running"].passed, verdicts["app-running"].evidence
    assert not verdicts["marker"].passed
    assert "symlink" in verdicts["marker"].message
    # The one check that runs the task's own program sees the agent's fake: that is why
    # such a check must be paired with a behavioural one.
    assert verdicts["fake-program-in-task"].passed
    assert verdicts["fake-program-in-task"].evidence["where"] == "task container"
    assert "verifier ready" in paths.log.read_text()
    containers, networks = leftovers("verifier-job")
    assert containers == [] and networks == []
