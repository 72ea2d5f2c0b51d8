"""`opsbench view`: a local web server over the results store (127.0.0.1 by default)."""

from __future__ import annotations

import argparse

from opsbench.commands.store_cmd import add_database_argument

DEFAULT_PORT = 8765


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("view", help="browse the results store: jobs, trends, regressions")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any)"
    )
    add_database_argument(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from reporting.view.server import serve

    serve(args.database_url, args.host, args.port)
    return 0
