"""Scripted agents that investigate only a task's distractor, then blame it.

They act through the `sre` agent's tools (`agents.baselines.ToolRecorder`), audited like a
model's actions, and never look where the cause is:

- `BlamesTheApp` on `nginx-bad-upstream`: looks at the application (its log and process),
  never at nginx's configuration, its error log or the listening ports; says the
  application is down.
- `ChasesCheckout` on `payment-failures`: looks at checkout's 502s (where the ticket's
  dashboards point), never at payments; names checkout as the origin.
"""

from __future__ import annotations

from agents.baselines import ToolRecorder
from opsbench.agent import Agent, AgentContext
from opsbench.sandbox import Sandbox

CHECKOUT_5XX = (
    'sum(rate(http_requests_total{service="checkout",code=~"5.."}[5m])) '
    '/ sum(rate(http_requests_total{service="checkout"}[5m]))'
)


class BlamesTheApp(Agent):
    name = "blames-the-app"
    version = "1"

    def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        rec = ToolRecorder(self, sandbox, context)
        rec.writer.add(source="user", message=instruction)
        rec.act("run_shell", {"command": "tail -n 20 /var/log/app.log"}, "The app's log.")
        rec.act("run_shell", {"command": "pgrep -af app.py || true"}, "Is the app running?")
        answer = "The application is down: the orders service stopped, so nginx gets no reply."
        rec.act("submit_answer", {"answer": answer}, "Report.")
        rec.finish(answer, "submitted")


class ChasesCheckout(Agent):
    name = "chases-checkout"
    version = "1"

    def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        rec = ToolRecorder(self, sandbox, context)
        rec.writer.add(source="user", message=instruction)
        rec.act("run_shell", {"command": "tail -n 30 /var/log/apps/checkout.log"}, "Checkout.")
        at = {"time": context.scenario_time} if context.scenario_time else {}
        rec.act("prometheus_query", {"query": CHECKOUT_5XX, **at}, "Checkout's error ratio.")
        answer = (
            "Checkout is answering 502s on POST /checkout; it is where the failures start.\n"
            "ORIGIN_SERVICE: checkout\n"
            "FAILING_DEPENDENCY: checkout\n"
            "CHARGE_FAILURE_PCT: 20"
        )
        rec.act("submit_answer", {"answer": answer}, "Report.")
        rec.finish(answer, "submitted")
