"""The driver's side of the gateway: trial keys, the job's provider limits, usage.

The proxy in the gateway container asks this server, over HTTP, about every request
(`environment/gateway/opsbench_gateway_hooks.py` is the other half):

| route | when | what the driver does |
| --- | --- | --- |
| `POST /auth` | every request | the key's lease, while it is not revoked (else 403); a model call counts (`usage.calls`) |
| `POST /permit` | before every upstream attempt | pause file, then the provider's gate (breaker, interval, rate, Retry-After hold); a repeated call id is a retry |
| `POST /record` | after every attempt | the gate learns the outcome; tokens, cost, errors by kind (attempts never reported are failures of kind `other`, counted at revoke) |
| `POST /failed` | a call failed for good | the trial's `failure` (a provider error) |

So the limits are not copied into the proxy: they are the very `ProviderGate` objects the
built-in agent and the judge use (`opsbench.providers.limits`), shared by every model
caller of the process, and a failure is classified by the same table
(`opsbench.providers.errors`). Every request carries the control token only the gateway
holds: a task container that can reach this address (a trial that is not `isolated`
reaches the host) gets 401.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opsbench.failures import Cancelled
from opsbench.models.provider import ProviderSettings
from opsbench.models.result import UsageCounters
from opsbench.providers.errors import (
    ErrorClass,
    ErrorKind,
    ProviderCallFailed,
    classify_reported,
)
from opsbench.providers.limits import (
    CallOutcome,
    GateRegistry,
    Permit,
    ProviderGate,
    default_registry,
    wait_while_paused,
)

log = logging.getLogger(__name__)

_usage_lock = threading.Lock()


@dataclass
class Lease:
    """One trial's virtual key and what its calls did. `usage` is the trial's own
    counters (filled in place, as the provider layer fills them for `sre`)."""

    id: str
    key: str
    trial: str
    usage: UsageCounters
    cancelled: threading.Event = field(default_factory=threading.Event)
    revoked: bool = False
    failure: ProviderCallFailed | None = None
    """Set when a call failed after every retry (or on an error retrying cannot fix)."""
    attempts: dict[str, int] = field(default_factory=dict)
    """Upstream attempts per call (permits granted)."""
    reported: dict[str, int] = field(default_factory=dict)
    """Attempts per call whose outcome the proxy reported."""

    def unreported(self) -> int:
        return sum(max(0, n - self.reported.get(c, 0)) for c, n in self.attempts.items())


class ControlServer:
    """Leases and limits for one gateway; an HTTP server on `host` (a random port)."""

    def __init__(
        self,
        host: str,
        provider: str,
        settings: ProviderSettings,
        registry: GateRegistry | None = None,
    ) -> None:
        self.provider = provider
        self.settings = settings
        self.gate: ProviderGate = (registry or default_registry()).gate(provider, settings)
        self.token = secrets.token_urlsafe(32)
        self._lock = threading.Lock()
        self._by_key: dict[str, Lease] = {}
        self._by_id: dict[str, Lease] = {}
        self._permits: dict[tuple[str, str], deque[Permit]] = defaultdict(deque)
        self._httpd = ThreadingHTTPServer((host, 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="gateway-control",
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        with self._lock:
            for lease in self._by_id.values():
                lease.cancelled.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # ------------------------------------------------------------------ leases

    def issue(self, trial: str, usage: UsageCounters) -> Lease:
        lease = Lease(
            id=secrets.token_hex(8),
            key="sk-opsbench-" + secrets.token_urlsafe(24),
            trial=trial,
            usage=usage,
        )
        with self._lock:
            self._by_key[lease.key] = lease
            self._by_id[lease.id] = lease
        return lease

    def revoke(self, lease: Lease, drain_timeout: float = 5.0) -> None:
        """The key stops working at once. The proxy reports attempts' outcomes in the
        background: wait (up to `drain_timeout`) for those of attempts already made, so
        the trial's counters are complete; attempts still waiting for a permit are
        refused, and ones never reported are released with no verdict."""
        with self._lock:
            lease.revoked = True
            self._by_key.pop(lease.key, None)
        deadline = time.monotonic() + drain_timeout
        while time.monotonic() < deadline:
            with self._lock:
                if lease.unreported() == 0:
                    break
            time.sleep(0.05)
        with self._lock:
            held = [k for k in self._permits if k[0] == lease.id]
            pending = [p for k in held for p in self._permits.pop(k)]
            # LiteLLM does not report every failed attempt it retries (a dropped
            # connection, say): an attempt with no outcome that was followed by another,
            # or never answered, failed; of a kind the driver was not told.
            missing = lease.unreported() if lease.attempts else 0
        if missing:
            with _usage_lock:
                key = ErrorKind.OTHER.value
                lease.usage.errors[key] = lease.usage.errors.get(key, 0) + missing
        lease.cancelled.set()
        for permit in pending:  # attempts cut off mid-flight: no verdict on the provider
            self.gate.record(permit, CallOutcome.NEUTRAL)

    def _active(self, lease_id: str) -> Lease | None:
        with self._lock:
            lease = self._by_id.get(lease_id)
        return lease if lease is not None and not lease.revoked else None

    def _known(self, lease_id: str) -> Lease | None:
        """Revoked leases too: an attempt's outcome may arrive after the trial's end."""
        with self._lock:
            return self._by_id.get(lease_id)

    # ------------------------------------------------------------------ routes

    def _route(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if path == "/auth":
            with self._lock:
                found = self._by_key.get(str(body.get("key", "")))
            if found is None:
                return 403, {"error": "unknown key"}
            if body.get("call"):  # a model call (not a listing): one round trip, not two
                with _usage_lock:
                    found.usage.calls += 1
            return 200, {"lease": found.id}
        if path == "/record":
            return self._record(body)
        if path == "/failed":
            return self._failed(body)
        lease = self._active(str(body.get("lease", "")))
        if lease is None:
            return 403, {"error": "no such lease, or revoked"}
        if path == "/permit":
            return self._permit(lease, str(body.get("call_id", "")))
        return 404, {"error": f"no route {path}"}

    def _permit(self, lease: Lease, call_id: str) -> tuple[int, dict[str, Any]]:
        t0 = time.monotonic()
        with self._lock:
            lease.attempts[call_id] = lease.attempts.get(call_id, 0) + 1
            retry = lease.attempts[call_id] > 1
        if retry:
            with _usage_lock:
                lease.usage.retries += 1
        try:
            wait_while_paused(self.settings, lease.cancelled)
            permit = self.gate.acquire(lease.cancelled)
        except Cancelled:
            return 409, {"error": "the trial's key was revoked"}
        with self._lock:
            self._permits[(lease.id, call_id)].append(permit)
        with _usage_lock:
            lease.usage.provider_wait_sec += time.monotonic() - t0
        return 200, {}

    def _take_permit(self, lease_id: str, call_id: str) -> Permit:
        with self._lock:
            queue = self._permits.get((lease_id, call_id))
            if queue:
                permit = queue.popleft()
                if not queue:
                    del self._permits[(lease_id, call_id)]
                return permit
        return Permit(probe=False, waited_sec=0.0)

    def _record(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        lease = self._known(str(body.get("lease", "")))
        call_id = str(body.get("call_id", ""))
        permit = self._take_permit(str(body.get("lease", "")), call_id)
        if lease is not None:
            with self._lock:
                lease.reported[call_id] = lease.reported.get(call_id, 0) + 1
        if body.get("ok"):
            self.gate.record(permit, CallOutcome.SUCCESS)
            if lease is not None:
                with _usage_lock:
                    lease.usage.input_tokens += int(body.get("input_tokens") or 0)
                    lease.usage.output_tokens += int(body.get("output_tokens") or 0)
                    lease.usage.cost_usd += float(body.get("cost_usd") or 0.0)
                    lease.usage.provider_wait_sec += float(body.get("seconds") or 0.0)
            return 200, {}
        error = _reported(body.get("error"))
        self.gate.record(permit, CallOutcome.FAILURE if error.retryable else CallOutcome.NEUTRAL)
        if error.retry_after is not None:
            self.gate.defer(min(error.retry_after, self.settings.retry_after_max))
        if lease is not None:
            with _usage_lock:
                key = error.kind.value
                lease.usage.errors[key] = lease.usage.errors.get(key, 0) + 1
                lease.usage.provider_wait_sec += float(body.get("seconds") or 0.0)
        return 200, {}

    def _failed(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        lease = self._active(str(body.get("lease", "")))
        if lease is None:
            return 200, {}  # refused because revoked: the trial is over anyway
        error = _reported(body.get("error"))
        if error.provider_fault and lease.failure is None:
            call_id = str(body.get("call_id", ""))
            attempts = lease.attempts.get(call_id) or max(lease.attempts.values(), default=1)
            message = str((body.get("error") or {}).get("message", ""))[:500]
            lease.failure = ProviderCallFailed(
                f"{self.provider}: {error.kind} after {attempts} attempt(s) through the "
                f"gateway: {message}",
                provider=self.provider,
                kind=error.kind,
                attempts=attempts,
            )
            log.warning("gateway: trial %s: %s", lease.trial, lease.failure)
        return 200, {}

    # ------------------------------------------------------------------ http

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # TCP_NODELAY: headers and body go out as separate writes, and with Nagle's
            # algorithm each answer waited ~40 ms for the client's delayed ACK.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                given = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if not hmac.compare_digest(given.encode(), server.token.encode()):
                    self._send(401, {"error": "not the gateway"})
                    return
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    self._send(400, {"error": "body is not JSON"})
                    return
                try:
                    status, answer = server._route(self.path, body)
                except Exception as exc:  # never kill the server thread
                    log.exception("gateway control %s", self.path)
                    status, answer = 500, {"error": f"{type(exc).__name__}: {exc}"}
                self._send(status, answer)

            def _send(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _reported(error: Any) -> ErrorClass:
    error = error if isinstance(error, dict) else {}
    status = error.get("status")
    headers = error.get("headers") if isinstance(error.get("headers"), dict) else {}
    return classify_reported(
        str(error.get("name", "")),
        int(status) if isinstance(status, int) else None,
        str(error.get("message", "")),
        {str(k): str(v) for k, v in headers.items()},
    )
