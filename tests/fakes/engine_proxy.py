"""A fault-injecting proxy in front of the Docker engine's unix socket.

Tests point `DOCKER_HOST` at it and switch its mode to make the engine "go away" without
touching the real engine (which other people's runs share):

- `forward`: bytes pass through both ways (the engine as it is);
- `abort`: every open connection is cut and new ones are accepted and closed at once
  (connection aborted / remote disconnected);
- `refuse`: the socket is gone (connection refused); `forward` listens again;
- `checks500`: the requests a check makes (exec create/start, file archive, process list)
  get `500 Internal Server Error`, the rest pass (an engine failing while serving).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
from pathlib import Path

UPSTREAM = "/var/run/docker.sock"
_CHECK_REQUEST = re.compile(
    rb"^(POST /(v[\d.]+/)?(containers/[^/ ]+/exec|exec/[^/ ]+/start) "
    rb"|GET /(v[\d.]+/)?containers/[^/ ]+/(archive|top)[? ])"
)
_BODY_500 = b'{"message":"injected engine failure"}'
_ERROR_500 = (
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
    b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(_BODY_500), _BODY_500)
)


class EngineProxy:
    def __init__(self, path: Path, upstream: str = UPSTREAM) -> None:
        self.path = path
        self.upstream = upstream
        self.mode = "forward"
        self.requests_failed = 0
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._listen()

    @property
    def docker_host(self) -> str:
        return f"unix://{self.path}"

    def set_mode(self, mode: str) -> None:
        assert mode in {"forward", "abort", "refuse", "checks500"}, mode
        with self._lock:
            previous, self.mode = self.mode, mode
        if mode in {"abort", "refuse"}:
            self._cut_all()
        if mode == "refuse":
            self._stop_listening()
        elif previous == "refuse":
            self._listen()

    def close(self) -> None:
        self._stop_listening()
        self._cut_all()

    # ----------------------------------------------------------------- plumbing

    def _listen(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _stop_listening(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self.mode in {"abort", "refuse"}:
                self.requests_failed += 1
                client.close()
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            engine.connect(self.upstream)
        except OSError:
            client.close()
            return
        with self._lock:
            self._open.update((client, engine))
        threading.Thread(target=self._pump, args=(engine, client, False), daemon=True).start()
        self._pump(client, engine, True)

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data or self.mode in {"abort", "refuse"}:
                    break
                if from_client and self.mode == "checks500" and _CHECK_REQUEST.match(data):
                    self.requests_failed += 1
                    src.sendall(_ERROR_500)
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._close_pair(src, dst)

    def _close_pair(self, *socks: socket.socket) -> None:
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
            with self._lock:
                self._open.discard(s)

    def _cut_all(self) -> None:
        with self._lock:
            socks = list(self._open)
        self._close_pair(*socks)


_current: EngineProxy | None = None


def current() -> EngineProxy:
    """The proxy a test installed (for probe agents that switch its mode mid-trial)."""
    assert _current is not None, "no engine proxy installed"
    return _current


def install(proxy: EngineProxy | None) -> None:
    global _current
    _current = proxy
