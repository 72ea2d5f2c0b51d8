"""A terminal proxy on the host: a person's keyboard and screen joined to a container shell.

The shell runs through an engine exec with a TTY; this side puts the local terminal in raw
mode, forwards bytes both ways and the window size on SIGWINCH. Every byte the person
types passes through here before the container sees it, so the host keeps a record of
the input that nothing inside the container can alter (`opsbench.shell` reads commands
from it as well as from the recording shell).
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import sys
import termios
import tty
from collections.abc import Callable
from typing import Any

Tap = Callable[[bytes], None]


def attach(
    container: Any,
    command: list[str],
    *,
    user: str,
    workdir: str | None,
    environment: dict[str, str],
    on_input: Tap,
    on_output: Tap,
) -> int:
    """Run `command` in `container` on the local terminal; returns its exit code."""
    import docker

    api = docker.APIClient(version="auto", timeout=None)  # type: ignore[arg-type]
    exec_id = api.exec_create(
        container.id,
        command,
        stdin=True,
        tty=True,
        user=user,
        workdir=workdir,
        environment=environment,
    )["Id"]
    sock = api.exec_start(exec_id, tty=True, socket=True)
    raw = getattr(sock, "_sock", sock)
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    interactive = os.isatty(stdin)
    saved = termios.tcgetattr(stdin) if interactive else None

    def resize(*_: Any) -> None:
        size = shutil.get_terminal_size()
        with contextlib.suppress(Exception):  # the exec may not run yet, or be gone
            api.exec_resize(exec_id, height=size.lines, width=size.columns)

    previous = signal.signal(signal.SIGWINCH, resize)
    try:
        if saved is not None:
            tty.setraw(stdin)
        resize()
        _pump(raw, stdin, stdout, on_input, on_output)
    finally:
        if saved is not None:
            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGWINCH, previous)
        raw.close()
    code = api.exec_inspect(exec_id).get("ExitCode")
    return int(code) if code is not None else 1


def _pump(raw: Any, stdin: int, stdout: int, on_input: Tap, on_output: Tap) -> None:
    stdin_open = True
    while True:
        watched = [raw, stdin] if stdin_open else [raw]
        ready, _, _ = select.select(watched, [], [])
        if raw in ready:
            data = raw.recv(65536)
            if not data:
                return
            on_output(data)
            os.write(stdout, data)
        if stdin in ready:
            data = os.read(stdin, 4096)
            if not data:
                stdin_open = False  # input closed: let the shell finish on its own
                continue
            on_input(data)
            raw.sendall(data)
