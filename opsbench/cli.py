"""The `opsbench` command line.

Parsers are built here; each command's work is imported inside its handler so that
`opsbench --help` and cheap commands never pay for Docker, LiteLLM or the grader.
User errors (`OpsbenchError`) print `file: field.path: message` lines and exit non-zero
without a traceback; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from opsbench import __version__
from opsbench.errors import OpsbenchError


def _add_sync(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sync", help="compile tasks-spec/ into Harbor-format tasks/")
    p.add_argument("--path", type=Path, help="another spec directory or a single spec file")
    p.add_argument("--list-ids", action="store_true", help="print task ids, write nothing")
    p.add_argument("--check", action="store_true", help="exit 1 if tasks/ is out of date")
    p.set_defaults(handler=_run_sync)


def _run_sync(args: argparse.Namespace) -> int:
    from opsbench.commands import sync_cmd

    return sync_cmd.run(args)


def _add_schema(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("schema", help="write the task-spec JSON Schema (schema/)")
    p.add_argument("--check", action="store_true", help="exit 1 if the committed schema is stale")
    p.set_defaults(handler=_run_schema)


def _run_schema(args: argparse.Namespace) -> int:
    from opsbench.commands import sync_cmd

    return sync_cmd.run_schema(args)


def _add_preflight(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "preflight", help="check Docker, build the base and sidecar images, clean leftovers"
    )
    p.add_argument(
        "--ca-bundle",
        type=Path,
        help="CA bundle baked into images (TLS-intercepting proxies); env OPSBENCH_CA_BUNDLE",
    )
    p.add_argument(
        "--repair", action="store_true", help="repair a known engine start-up failure it finds"
    )
    p.set_defaults(handler=_run_preflight)


def _run_preflight(args: argparse.Namespace) -> int:
    from opsbench.commands import preflight_cmd

    return preflight_cmd.run(args)


def _add_job(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("job", help="run one variant over the tasks (resumable)")
    from opsbench.commands.job_args import add_job_arguments

    add_job_arguments(p)
    p.set_defaults(handler=_run_job)


def _run_job(args: argparse.Namespace) -> int:
    from opsbench.commands import job_cmd

    return job_cmd.run(args)


def _add_suite(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from opsbench.commands import suite_cmd

    suite_cmd.add_parsers(sub)


def _add_regrade(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from opsbench.commands import regrade_cmd

    regrade_cmd.add_parsers(sub)


def _add_validate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from opsbench.commands import validate_cmd

    validate_cmd.add_parsers(sub)


def _add_report(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from opsbench.commands import report_cmd

    report_cmd.add_parsers(sub)


def _add_shell(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from opsbench.commands import shell_cmd

    shell_cmd.add_parsers(sub)


def _add_release(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from opsbench.commands import release_cmd

    release_cmd.add_parsers(sub)


def _add_submissions(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from opsbench.commands import submission_cmd

    submission_cmd.add_parsers(sub)


def _add_audit(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from opsbench.commands import audit_cmd

    audit_cmd.add_parsers(sub)


def _add_store(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from opsbench.commands import store_cmd

    store_cmd.add_parsers(sub)


def _add_trends(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from opsbench.commands import trends_cmd

    trends_cmd.add_parsers(sub)


def _add_view(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from opsbench.commands import view_cmd

    view_cmd.add_parsers(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="opsbench",
        description="Benchmark LLM agents on SRE and observability work.",
    )
    parser.add_argument("--version", action="version", version=f"opsbench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (
        _add_sync,
        _add_schema,
        _add_preflight,
        _add_job,
        _add_suite,
        _add_regrade,
        _add_validate,
        _add_report,
        _add_shell,
        _add_release,
        _add_submissions,
        _add_audit,
        _add_store,
        _add_trends,
        _add_view,
    ):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        code: int = args.handler(args)
    except OpsbenchError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `opsbench sync --list-ids | head`: the reader left
        sys.stderr.close()
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
