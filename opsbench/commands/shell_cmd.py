"""`opsbench shell TASK`: a person in a prepared task, recorded and graded as a trial.

The person gets a recording bash (`opsbench.shell`) in the task container through a
terminal proxy on the host (`opsbench.runtime.tty`). On exit the session is graded, both
gates are printed, and it is saved as a trial of the built-in agent `human` in the job
`--job-name` (default `human`), so human baselines land in reports like any run.
`--keep` leaves the environment running and unrecorded; `opsbench shell --attach` rejoins
the newest kept session of that job, and its exit grades and records it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from opsbench.errors import OpsbenchError
from opsbench.paths import JobPaths, ProjectPaths, TrialPaths, find_root

if TYPE_CHECKING:
    from opsbench.models.verdict import GradingDetails
    from opsbench.session import Session

HUMAN_AGENT = "human"


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "shell",
        help="an interactive shell in a prepared task, graded and saved as a `human` trial",
    )
    p.add_argument("task", nargs="?", help="task id (from tasks-spec/) or a compiled task dir")
    p.add_argument("--job-name", default=HUMAN_AGENT, help="job to save the trial in (human)")
    p.add_argument("--jobs-dir", type=Path, help="default: ./jobs")
    p.add_argument("--answer", help="the final answer question tasks grade (else asked)")
    p.add_argument("--keep", action="store_true", help="leave the environment up on exit")
    p.add_argument("--attach", action="store_true", help="rejoin the newest kept session")
    p.add_argument(
        "--judge-model",
        default=os.environ.get("OPSBENCH_JUDGE_MODEL"),
        help="LLM judge for rubric criteria (env OPSBENCH_JUDGE_MODEL)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from opsbench.session import Session, open_session

    paths = ProjectPaths(find_root())
    job = JobPaths((args.jobs_dir or paths.jobs) / args.job_name)
    if args.attach:
        if args.task:
            raise OpsbenchError("--attach rejoins a kept session: give no task")
        trial = newest_kept(job)
        session = Session.adopt(trial)
        session.keep = args.keep
        print(f"rejoined {trial.dir}", file=sys.stderr)
    else:
        if not args.task:
            raise OpsbenchError("opsbench shell TASK: name a task (or --attach)")
        print(f"preparing {args.task} ...", file=sys.stderr)
        session = open_session(
            args.task,
            record=job.name,
            agent=HUMAN_AGENT,
            jobs_dir=job.dir.parent,
            judge_model=args.judge_model,
            keep=args.keep,
        )
        print(banner(session), file=sys.stderr)
    try:
        run_shell(session)
        details = session.grade(answer=final_answer(session, args.answer))
        print(gates(details), file=sys.stderr)
    except BaseException:
        session.close()
        raise
    if args.keep:
        trial = session.detach()
        print(
            f"kept running (not saved yet): `opsbench shell --attach"
            f"{'' if job.name == HUMAN_AGENT else ' --job-name ' + job.name}` rejoins "
            f"{trial.dir.name}",
            file=sys.stderr,
        )
        return 0
    trial = session.trial
    session.close()
    print(f"saved as a {HUMAN_AGENT} trial: {trial.dir}", file=sys.stderr)
    print(f"report: {job.report}", file=sys.stderr)
    return 0


def newest_kept(job: JobPaths) -> TrialPaths:
    kept = [TrialPaths(d) for d in job.trial_dirs() if TrialPaths(d).kept_session.is_file()]
    if not kept:
        raise OpsbenchError(f"no kept shell session in {job.dir} (start one with --keep)")
    return max(kept, key=lambda t: t.kept_session.stat().st_mtime)


def banner(session: Session) -> str:
    lines = [
        "",
        session.instruction.rstrip(),
        "",
        "You are in the task container; every command is recorded for grading.",
        "Exit the shell (exit or Ctrl-D) to grade and save the session.",
    ]
    return "\n".join(lines) + "\n"


def run_shell(session: Session) -> None:
    """The person's shell, until they leave it; then their commands into the audit record."""
    from opsbench.runtime.environment import DockerEnvironment
    from opsbench.runtime.tty import attach
    from opsbench.shell import install, read_log, typed_lines, write_audit

    env = session.environment
    if not isinstance(env, DockerEnvironment):
        raise OpsbenchError("opsbench shell needs the Docker runtime")
    spec = session.spec.environment
    user = spec.agent_user or "root"
    command = install(env.verifier, user)
    typed = bytearray()
    screen = bytearray()
    attach(
        env.main,
        command,
        user=user,
        workdir=spec.workdir,
        environment={"TERM": os.environ.get("TERM", "xterm")},
        on_input=typed.extend,
        on_output=lambda data: screen.extend(data[-1_000_000:]),
    )
    paths = session.trial
    with paths.agent.joinpath("tty-input.log").open("ab") as fh:
        fh.write(bytes(typed))
    with paths.agent.joinpath("tty-screen.log").open("ab") as fh:
        fh.write(bytes(screen[-1_000_000:]))
    records = read_log(env.main)
    noted = int(session.notes.get("shell_records", 0))
    write_audit(session.audit, records[noted:], typed_lines(bytes(typed)), user, records[:noted])
    session.notes["shell_records"] = len(records)


def final_answer(session: Session, given: str | None) -> str | None:
    """The answer for tasks that grade one: `--answer`, else asked on the terminal."""
    if given is not None:
        return given
    asks = any(
        c.kind == "answer" or getattr(c, "answer_matches", None) for c in session.spec.checks
    )
    if not asks or not sys.stdin.isatty():
        return None
    try:
        return input("Your final answer (one line): ")
    except EOFError:
        return None


def _gate(value: bool | None) -> str:
    return "not applicable" if value is None else "PASS" if value else "FAIL"


def gates(details: GradingDetails) -> str:
    score = details.score
    lines = [
        f"task gate:       {'PASS' if score.task else 'FAIL'}",
        f"compliance gate: {_gate(score.compliance)}",
        f"reward {score.reward:.2f} · {'passed' if score.passed else 'not passed'}",
    ]
    for check in details.checks:
        lines.append(f"  check {check.name}: {'ok' if check.passed else 'failed'} {check.message}")
    for rule in details.compliance:
        if rule.passed is False:
            lines.append(f"  rule {rule.name}: broken {rule.message}")
    return "\n".join(lines)
