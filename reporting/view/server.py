"""Serve the view with uvicorn on 127.0.0.1 (by default) until Ctrl-C."""

from __future__ import annotations

import logging
import socket

log = logging.getLogger(__name__)


def serve(database_url: str | None, host: str, port: int) -> None:
    import uvicorn

    from opsbench.store.engine import display_url, open_store
    from reporting.view.app import create_app

    store = open_store(database_url)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)  # connections queue from now on, before uvicorn starts accepting
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    # The one line a user (or a test) reads to find the server.
    print(
        f"opsbench view: http://{shown}:{bound}/ (store {display_url(store.url)}); Ctrl-C stops",
        flush=True,
    )
    config = uvicorn.Config(create_app(store), log_level="warning", access_log=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        store.close()
