"""A real OpenAI-compatible HTTP server on 127.0.0.1, scripted from a queue.

Tests talk to it through LiteLLM exactly as they would to a hosted API: it serves
`POST /v1/chat/completions` from a queue of `Reply` objects (a text answer, tool calls,
malformed tool arguments, a 429 with Retry-After, a 500, a slow reply that times out) and
records every request body with its arrival time, so tests can assert on what was sent and
on the spacing between requests.

    server.push(tool_reply("run_shell", {"command": "ps aux"}), text_reply("done"))
    ...
    server.requests[0].body["messages"]

It also answers `POST /v1/responses` (the OpenAI Responses API) and `POST /v1/messages`
(Anthropic Messages) from the same queue, the scripted chat reply converted, streamed when
the request asks (`_shaped`); `drop_reply()` closes the connection without an answer. `FakeOpenAIServer(host=docker_bridge_address())` listens where containers on a
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


# --------------------------------------------------------------------------- streaming

_SSE = "_sse_events"
_SSE_DONE = "_sse_done"
"""Keys of a `Reply.body` sent as server-sent events instead of one JSON body."""


def _sse_bytes(events: list[dict[str, Any]], *, done: bool) -> bytes:
    """Chat streams end with `[DONE]`; Responses API events name their type."""
    out = []
    for event in events:
        kind = event.get("type")
        if kind and not done:
            out.append(f"event: {kind}\n")  # Responses API and Anthropic Messages name it
        out.append(f"data: {json.dumps(event)}\n\n")
    if done:
        out.append("data: [DONE]\n\n")
    return "".join(out).encode()


def _halves(text: str) -> list[str]:
    """A tool call's arguments in two deltas, as a real stream splits them (a client that
    reads only the first chunk loses them)."""
    cut = len(text) // 2
    return [part for part in (text[:cut], text[cut:]) if part]


def as_chat_stream(reply: Reply) -> Reply:
    """A scripted chat completion as the `stream: true` chunks a real server sends."""
    body = reply.body
    choice = body["choices"][0]
    message = choice["message"]
    base = {k: body[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    delta: dict[str, Any] = {"role": "assistant"}
    if message.get("reasoning_content"):
        delta["reasoning_content"] = message["reasoning_content"]
    if message.get("content"):
        delta["content"] = message["content"]
    calls = message.get("tool_calls") or []
    if calls:  # as OpenAI streams them: the name first, then the arguments in pieces
        delta["tool_calls"] = [
            {"index": i, **call, "function": {**call["function"], "arguments": ""}}
            for i, call in enumerate(calls)
        ]
    pieces = [
        {"index": i, "function": {"arguments": part}}
        for i, call in enumerate(calls)
        for part in _halves(call["function"]["arguments"])
    ]
    events = [
        {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
        *(
            {
                **base,
                "choices": [{"index": 0, "delta": {"tool_calls": [piece]}, "finish_reason": None}],
            }
            for piece in pieces
        ),
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}]},
        {**base, "choices": [], "usage": body.get("usage")},
    ]
    return Reply(reply.status, {_SSE: events}, reply.headers, 0.0)


def as_response(reply: Reply, stream: bool) -> Reply:
    """A scripted chat completion as an OpenAI Responses API answer (`/v1/responses`):
    text becomes a `message` output item, each tool call a `function_call` item."""
    if reply.status != 200:
        return reply
    body = reply.body
    message = body["choices"][0]["message"]
    usage = body.get("usage") or {}
    items: list[dict[str, Any]] = []
    if message.get("content"):
        items.append(
            {
                "type": "message",
                "id": f"msg_{next(_ids)}",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": message["content"], "annotations": []}],
            }
        )
    for call in message.get("tool_calls") or []:
        items.append(
            {
                "type": "function_call",
                "id": f"fc_{next(_ids)}",
                "call_id": call["id"],
                "name": call["function"]["name"],
                "arguments": call["function"]["arguments"],
                "status": "completed",
            }
        )
    response = {
        "id": f"resp_{next(_ids)}",
        "object": "response",
        "created_at": body["created"],
        "model": body["model"],
        "status": "completed",
        "output": items,
        "usage": {
            "input_tokens": usage.get("prompt_tokens", 0),
            "output_tokens": usage.get("completion_tokens", 0),
            "total_tokens": usage.get("total_tokens", 0),
        },
    }
    if not stream:
        return Reply(200, response, reply.headers, 0.0)
    events: list[dict[str, Any]] = [
        {
            "type": "response.created",
            "response": {**response, "status": "in_progress", "output": []},
        }
    ]
    for index, item in enumerate(items):
        if item["type"] == "function_call":
            events += _function_call_events(index, item)
            continue
        events.append({"type": "response.output_item.added", "output_index": index, "item": item})
        if item["type"] == "message":
            text = item["content"][0]["text"]
            events.append(
                {
                    "type": "response.output_text.delta",
                    "output_index": index,
                    "item_id": item["id"],
                    "content_index": 0,
                    "delta": text,
                }
            )
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    events.append({"type": "response.completed", "response": response})
    return Reply(200, {_SSE: events, _SSE_DONE: False}, reply.headers, 0.0)


def _function_call_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    """A function call as the Responses API streams it: the item announced with empty
    arguments, the arguments in deltas, then done (LiteLLM's bridge to Anthropic Messages
    reads the deltas; Codex reads the finished item)."""
    where = {"output_index": index, "item_id": item["id"]}
    started = {**item, "arguments": "", "status": "in_progress"}
    return [
        {"type": "response.output_item.added", "output_index": index, "item": started},
        *(
            {"type": "response.function_call_arguments.delta", **where, "delta": part}
            for part in _halves(item["arguments"])
        ),
        {"type": "response.function_call_arguments.done", **where, "arguments": item["arguments"]},
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


def as_anthropic(reply: Reply, stream: bool) -> Reply:
    """A scripted chat completion as an Anthropic Messages answer (`/v1/messages`): text
    and reasoning become `text` / `thinking` blocks, each tool call a `tool_use` block."""
    if reply.status != 200:
        kind = "rate_limit_error" if reply.status == 429 else "api_error"
        message = str((reply.body.get("error") or {}).get("message") or "scripted error")
        error = {"type": "error", "error": {"type": kind, "message": message}}
        return Reply(reply.status, error, reply.headers, 0.0)
    body = reply.body
    choice = body["choices"][0]
    message = choice["message"]
    usage = body.get("usage") or {}
    blocks: list[dict[str, Any]] = []
    if message.get("reasoning_content"):
        thinking = {"type": "thinking", "thinking": message["reasoning_content"], "signature": "s"}
        blocks.append(thinking)
    if message.get("content"):
        blocks.append({"type": "text", "text": message["content"]})
    for call in message.get("tool_calls") or []:
        arguments = call["function"]["arguments"]
        try:
            parsed = json.loads(arguments)
        except ValueError:
            parsed = {"_unparsed": arguments}
        blocks.append(
            {
                "type": "tool_use",
                "id": call["id"],
                "name": call["function"]["name"],
                "input": parsed,
            }
        )
    stop = "tool_use" if message.get("tool_calls") else "end_turn"
    answer = {
        "id": f"msg_{next(_ids)}",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": blocks,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {
            "input_tokens": usage.get("prompt_tokens", 0),
            "output_tokens": usage.get("completion_tokens", 0),
        },
    }
    if not stream:
        return Reply(200, answer, reply.headers, 0.0)
    start = {**answer, "content": [], "stop_reason": None}
    start["usage"] = {"input_tokens": answer["usage"]["input_tokens"], "output_tokens": 0}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(blocks):
        events += _anthropic_block_events(index, block)
    events += [
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": answer["usage"]["output_tokens"]},
        },
        {"type": "message_stop"},
    ]
    return Reply(200, {_SSE: events, _SSE_DONE: False}, reply.headers, 0.0)


def _anthropic_block_events(index: int, block: dict[str, Any]) -> list[dict[str, Any]]:
    if block["type"] == "text":
        empty: dict[str, Any] = {"type": "text", "text": ""}
        delta: dict[str, Any] = {"type": "text_delta", "text": block["text"]}
    elif block["type"] == "thinking":
        empty = {"type": "thinking", "thinking": "", "signature": ""}
        delta = {"type": "thinking_delta", "thinking": block["thinking"]}
    else:
        empty = {**block, "input": {}}
        delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
    events = [
        {"type": "content_block_start", "index": index, "content_block": empty},
        {"type": "content_block_delta", "index": index, "delta": delta},
    ]
    if block["type"] == "thinking":
        signature = {"type": "signature_delta", "signature": block["signature"]}
        events.append({"type": "content_block_delta", "index": index, "delta": signature})
    return [*events, {"type": "content_block_stop", "index": index}]


def _get_reply(path: str) -> Reply:
    """`GET /v1/models` lists one model; every other GET is a 404."""
    if path.split("?")[0].rstrip("/").endswith("/models"):
        return Reply(body={"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
    return error_reply(404, f"no route {path}", error_type="not_found")


def _shaped(reply: Reply, route: str, body: dict[str, Any]) -> Reply:
    """The scripted reply as the request asked for it: the requested model echoed (real
    APIs name the model that answered), streamed, or in the Responses API's shape."""
    if reply.status == 200 and "model" in reply.body:
        reply = Reply(
            reply.status,
            {**reply.body, "model": body.get("model", "fake-model")},
            reply.headers,
            reply.delay,
        )
    delay = reply.delay
    if route.endswith("/responses"):
        reply = as_response(reply, bool(body.get("stream")))
    elif route.endswith("/messages"):
        reply = as_anthropic(reply, bool(body.get("stream")))
    elif body.get("stream") and reply.status == 200:
        reply = as_chat_stream(reply)
    return Reply(reply.status, reply.body, reply.headers, delay)


class FakeOpenAIServer:
    """A threaded HTTP server answering from `push`ed replies, recording each request."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        """`host`: where to listen; a container reaches the test process on the docker
        bridge's gateway address (`docker_bridge_address()`, or `"0.0.0.0"` for every
        network's gateway address), not on loopback."""
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self.side_requests: list[tuple[Callable[[dict[str, Any]], bool], Reply]] = []
        """(matches a request body, the reply it gets): requests a CLI sends besides its
        agent loop (a session title) are answered here, never from the script queue."""
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
        host = "127.0.0.1" if host == "0.0.0.0" else host
        return f"http://{host!s}:{port}/v1"

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

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
            for matches, reply in self.side_requests:
                if matches(request.body):
                    return reply
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
                route = self.path.split("?")[0].rstrip("/")
                if not route.endswith(("/chat/completions", "/responses", "/messages")):
                    self._send(error_reply(404, f"no route {self.path}", error_type="not_found"))
                    return
                reply = server._next(recorded)
                if reply.status == DROP:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(2)  # SHUT_RDWR: no status line, nothing
                    return
                reply = _shaped(reply, route, body)
                if reply.delay and server._stopping.wait(reply.delay):
                    return
                self._send(reply)

            def do_GET(self) -> None:  # CLIs list models before they start
                self._send(_get_reply(self.path))

            def _send(self, reply: Reply) -> None:
                events = reply.body.get(_SSE)
                if events is not None:
                    payload = _sse_bytes(events, done=reply.body.get(_SSE_DONE, True))
                    content_type = "text/event-stream"
                else:
                    payload = json.dumps(reply.body).encode()
                    content_type = "application/json"
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", content_type)
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
