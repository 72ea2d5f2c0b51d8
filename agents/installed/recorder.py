"""The recording shell for installed CLIs: what their shell actually ran, recorded by us.

A CLI's transcript is its own report of the commands it ran. To not rely on that alone,
every CLI runs with `BASH_ENV` pointing at a script that bash reads before any
non-interactive command: it appends the command's exact text (`BASH_EXECUTION_STRING`),
its exit code and directory to a log when that bash exits, in the format of
`opsbench shell`'s recording shell (`opsbench.shell.parse_log`). Only the outermost
`bash -c` of each command is logged (the script exports a marker), so a command's own
scripts do not flood the record.

The two are merged (`merge`): each transcript command is an entry of the audit record; a
command the shell log holds that no transcript command accounts for is added too, marked
`shell`. So a CLI whose transcript leaves a command out still has it graded; a command that
escaped the hook (it unset `BASH_ENV`, or ran through another shell) still has its
transcript entry.
"""

from __future__ import annotations

import base64

from opsbench.sandbox import Sandbox
from opsbench.shell import ShellRecord, parse_log

RECORDER_DIR = "/opt/opsbench-agent/recorder"
RC_PATH = f"{RECORDER_DIR}/bash_env"
LOG_PATH = f"{RECORDER_DIR}/commands.log"

RC = r"""# opsbench recorder (BASH_ENV): log each outermost non-interactive command on exit.
if [ -n "${BASH_EXECUTION_STRING-}" ] && [ -z "${__OPSBENCH_RECORDED-}" ]; then
  export __OPSBENCH_RECORDED=1
  __opsbench_started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  __opsbench_cwd=$PWD
  trap '__opsbench_ec=$?; printf "%s %s %s %s\n" "$__opsbench_started" "$__opsbench_ec" \
    "$(printf %s "$__opsbench_cwd" | base64 -w0)" \
    "$(printf %s "$BASH_EXECUTION_STRING" | base64 -w0)" >> LOG_PATH 2>/dev/null' EXIT
fi
""".replace("LOG_PATH", LOG_PATH)


def install(root: Sandbox, user: str) -> None:
    """Write the BASH_ENV script and an empty log the agent user can append to."""
    rc = base64.b64encode(RC.encode()).decode()
    out = root.exec(
        f"mkdir -p {RECORDER_DIR} && echo {rc} | base64 -d > {RC_PATH} && chmod 644 {RC_PATH} "
        f"&& : > {LOG_PATH} && chown {user} {LOG_PATH}",
        timeout=30,
        user="root",
    )
    if out.exit_code != 0:
        raise RuntimeError(f"could not install the command recorder: {out.stderr.strip()}")


def exports() -> str:
    """Shell text that makes every bash the CLI starts record itself."""
    return f"export BASH_ENV={RC_PATH}; "


def read(root: Sandbox) -> list[ShellRecord]:
    out = root.exec(f"cat {LOG_PATH} 2>/dev/null || true", timeout=60, user="root")
    return parse_log(out.stdout)


def unaccounted(shell: list[ShellRecord], commands: list[str]) -> list[ShellRecord]:
    """Shell records no transcript command accounts for (its text is not inside them).
    Each transcript command accounts for one record at most."""
    left = list(commands)
    extra = []
    for record in shell:
        match = next((c for c in left if c.strip() and c.strip() in record.command), None)
        if match is None:
            extra.append(record)
        else:
            left.remove(match)
    return extra
