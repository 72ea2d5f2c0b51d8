"""A real OpenAI-compatible HTTP server on 127.0.0.1, scripted from a queue.

Tests talk to it through LiteLLM exactly as they would to a hosted API: it serves
`POST /v1/chat/completions` from a queue of `Reply` objects (a text answer, tool calls,
malformed tool arguments, a 429 with Retry-After, a 500, a slow reply that times out) and
records every request body with its arrival time, so tests can assert on what was sent and
on the spacing between requests.

    server.push(tool_reply("run_shell", {"command": "ps aux"}), text_reply("done"))
    ...
    server.requests[0].body["messages"]

It also answers `POST /v1/responses` (the OpenAI Responses API) from the same queue, a
chat reply converted (`responses_body`), and `drop_reply()` closes the connection without
an answer. `FakeOpenAIServer(host=docker_bridge_address())` listens where containers on a
non-isolated network (the model gateway's egress network) reach the test process.

Use the `openai_server` fixture (import it into a conftest.py), or `FakeOpenAIServer`
as a context manager. Point the provider layer at it with
`ProviderSettings(api_base=server.url, ...)` and any `OPENAI_API_KEY`. Timing tests should
also depend on the session fixture `litellm_warm`, which takes LiteLLM's slow first-call
imports out of their measurements. An empty queue answers 500 ("script exhausted").
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

_ids = itertools.count(1)


@dataclass
class Reply:
    """One scripted response: status, JSON body, headers, and a delay before sending."""

    status: int = 200
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    arrived: float
    """`time.monotonic()` when the request line was read."""


def _completion(
    message: dict[str, Any], finish_reason: str, prompt_tokens: int, completion_tokens: int
) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake-{next(_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "fake-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def text_reply(
    content: str,
    *,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    reasoning_content: str | None = None,
    delay: float = 0.0,
) -> Reply:
    """A plain assistant message (no tool calls)."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning_content is not None:
        message["reasoning_content"] = reasoning_content
    return Reply(body=_completion(message, "stop", prompt_tokens, completion_tokens), delay=delay)


def tool_reply(
    name: str,
    arguments: dict[str, Any] | str,
    *,
    content: str | None = None,
    call_id: str | None = None,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
) -> Reply:
    """One tool call; pass `arguments` as a string to send malformed JSON verbatim."""
    return tool_calls_reply(
        [(name, arguments)],
        content=content,
        call_ids=[call_id] if call_id else None,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )


def tool_calls_reply(
    calls: list[tuple[str, dict[str, Any] | str]],
    *,
    content: str | None = None,
    call_ids: list[str] | None = None,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
) -> Reply:
    ids = call_ids or [f"call_{next(_ids)}" for _ in calls]
    tool_calls = [
        {
            "id": call_id,
            "type": "function",
            "function": {
                "name": name,
                "arguments": args if isinstance(args, str) else json.dumps(args),
            },
        }
        for call_id, (name, args) in zip(ids, calls, strict=True)
    ]
    message = {"role": "assistant", "content": content, "tool_calls": tool_calls}
    return Reply(body=_completion(message, "tool_calls", prompt_tokens, completion_tokens))


def error_reply(
    status: int,
    message: str = "scripted error",
    *,
    error_type: str = "server_error",
    code: str | None = None,
    retry_after: float | None = None,
) -> Reply:
    """An OpenAI-style error body; `retry_after` sets the Retry-After header (seconds)."""
    headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
    body = {"error": {"message": message, "type": error_type, "param": None, "code": code}}
    return Reply(status=status, body=body, headers=headers)


DROP = -1
"""`Reply.status` that closes the connection without answering (a dropped connection)."""


def drop_reply() -> Reply:
    """The connection is closed after the request is read, with no response at all."""
    return Reply(status=DROP)


def slow_reply(seconds: float, then: Reply | None = None) -> Reply:
    """`then` (a text reply by default) sent only after `seconds`: times out a short client."""
    reply = then or text_reply("slow answer")
    return Reply(status=reply.status, body=reply.body, headers=reply.headers, delay=seconds)


class FakeOpenAIServer:
    """A threaded HTTP server answering from `push`ed replies, recording each request."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        """`host`: where to listen; a container reaches the test process on the docker
        bridge's gateway address (`docker_bridge_address()`), not on loopback."""
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self.default: Callable[[], Reply] = lambda: error_reply(
            500, "fake server: script exhausted", error_type="script_exhausted"
        )
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer((host, 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL to pass as `api_base` (…/v1)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    # ------------------------------------------------------------------ script

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._replies)

    def arrival_times(self) -> list[float]:
        with self._lock:
            return [r.arrived for r in self.requests]

    def _next(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self._replies:
                return self._replies.popleft()
        return self.default()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body are separate writes: without TCP_NODELAY a kept-alive
            # client's delayed ACK holds each answer ~40 ms, which no real API does.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                arrived = time.monotonic()
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                recorded = RecordedRequest(
                    path=self.path, body=body, headers=dict(self.headers.items()), arrived=arrived
                )
                route = self.path.rstrip("/")
                if not route.endswith(("/chat/completions", "/responses")):
                    self._send(error_reply(404, f"no route {self.path}", error_type="not_found"))
                    return
                reply = server._next(recorded)
                if reply.status == DROP:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(2)  # SHUT_RDWR: no status line, nothing
                    return
                if route.endswith("/responses") and reply.status == 200:
                    reply = Reply(200, responses_body(reply.body), reply.headers, reply.delay)
                if reply.status == 200 and "model" in reply.body:
                    # Real APIs name the model that answered; echo the requested one.
                    reply = Reply(
                        reply.status,
                        {**reply.body, "model": body.get("model", "fake-model")},
                        reply.headers,
                        reply.delay,
                    )
                if reply.delay and server._stopping.wait(reply.delay):
                    return
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                payload = json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): nothing to answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def responses_body(chat: dict[str, Any]) -> dict[str, Any]:
    """A scripted chat completion as an OpenAI Responses API object (text and tool calls)."""
    message = (chat.get("choices") or [{}])[0].get("message") or {}
    output: list[dict[str, Any]] = []
    if message.get("content"):
        output.append(
            {
                "type": "message",
                "id": f"msg_fake_{next(_ids)}",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": message["content"], "annotations": []}],
            }
        )
    for call in message.get("tool_calls") or []:
        output.append(
            {
                "type": "function_call",
                "id": f"fc_fake_{next(_ids)}",
                "call_id": call["id"],
                "name": call["function"]["name"],
                "arguments": call["function"]["arguments"],
                "status": "completed",
            }
        )
    usage = chat.get("usage") or {}
    return {
        "id": f"resp_fake_{next(_ids)}",
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "model": chat.get("model", "fake-model"),
        "output": output,
        "usage": {
            "input_tokens": usage.get("prompt_tokens", 0),
            "output_tokens": usage.get("completion_tokens", 0),
            "total_tokens": usage.get("total_tokens", 0),
        },
    }


def docker_bridge_address() -> str:
    """The host's address on Docker's default bridge (docker0): containers on any
    non-isolated network reach a server listening there."""
    import docker

    network = docker.from_env().networks.get("bridge")
    for entry in (network.attrs.get("IPAM") or {}).get("Config") or []:
        if entry.get("Gateway") and ":" not in entry["Gateway"]:
            return str(entry["Gateway"])
    raise RuntimeError("docker's default bridge has no IPv4 gateway address")


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """A started fake server, stopped after the test."""
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture(scope="session")
def litellm_warm() -> None:
    """Import LiteLLM and take its first-call paths (success, errors, tools) once, so the
    seconds of lazy imports do not land inside a timing measurement."""
    from opsbench.providers.llm import load_litellm

    litellm = load_litellm()

    with FakeOpenAIServer() as server:
        server.push(
            error_reply(500),
            error_reply(429, retry_after=0),
            error_reply(400, "bad", error_type="invalid_request_error"),
            text_reply("warm"),
            tool_reply("noop", {}),
        )
        for _ in range(5):
            with contextlib.suppress(Exception):
                litellm.completion(
                    model="openai/gpt-4o",
                    messages=[{"role": "user", "content": "warm up"}],
                    api_base=server.url,
                    api_key="sk-warm-up",
                    max_retries=0,
                    timeout=10,
                    tools=[{"type": "function", "function": {"name": "noop", "parameters": {}}}],
                    _skip_mcp_handler=True,
                )
