"""The recording shell behind `opsbench shell`: what a person ran, for the audit record.

Two records, read back by the host after the shell ends:

- the shell's own: an rc file makes bash append every command it runs (its exact text,
  exit code and directory) to a log in the container, which the host reads through the
  engine — clean text even for history recall and tab completion;
- the host's: every byte typed passes through the terminal proxy on the host
  (`opsbench.runtime.tty`), which nothing in the container can alter. Lines typed there
  that the shell's log does not account for (the person disabled the hook, edited the
  log, or typed into a program) are added to the audit record too, marked `tty`.

So compliance grades a person's session like an agent's, without trusting anything the
person controls.
"""

from __future__ import annotations

import base64
import io
import re
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime

from opsbench.sandbox import AuditedSandbox, Sandbox

SHELL_DIR = "/opt/opsbench/shell"
RC_PATH = f"{SHELL_DIR}/bashrc"
LOG_PATH = f"{SHELL_DIR}/commands.log"

RC = r"""# opsbench recording shell: every command is logged for the audit record.
[ -f /etc/bash.bashrc ] && . /etc/bash.bashrc
[ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"
HISTCONTROL=
HISTIGNORE=
HISTFILE=
__opsbench_last=
__opsbench_record() {
  local ec=$? entry
  entry=$(HISTTIMEFORMAT= builtin history 1)
  if [[ $entry =~ ^[[:space:]]*([0-9]+)[[:space:]]+(.*)$ ]] \
     && [[ ${BASH_REMATCH[1]} != "$__opsbench_last" ]]; then
    __opsbench_last=${BASH_REMATCH[1]}
    printf '%(%Y-%m-%dT%H:%M:%SZ)T %s %s %s\n' -1 "$ec" \
      "$(printf %s "$PWD" | base64 -w0)" "$(printf %s "${BASH_REMATCH[2]}" | base64 -w0)" \
      >> LOG_PATH
  fi
  return $ec
}
PROMPT_COMMAND=__opsbench_record
PS1='[opsbench \W]\$ '
""".replace("LOG_PATH", LOG_PATH)


@dataclass(frozen=True)
class ShellRecord:
    time: str
    exit_code: int
    cwd: str
    command: str


def install(root: Sandbox, user: str) -> list[str]:
    """Put the rc file in the container (as root); returns the command that starts the
    recording shell."""
    rc = base64.b64encode(RC.encode()).decode()
    out = root.exec(
        f"mkdir -p {SHELL_DIR} && echo {rc} | base64 -d > {RC_PATH} && touch {LOG_PATH} "
        f"&& chown {user} {LOG_PATH} && chmod 644 {RC_PATH}",
        timeout=30,
        user="root",
    )
    if out.exit_code != 0:
        raise RuntimeError(f"could not install the recording shell: {out.stderr.strip()}")
    return ["bash", "--rcfile", RC_PATH, "-i"]


def read_log(container: object) -> list[ShellRecord]:
    """The shell's log, read through the engine (no binary of the container's)."""
    import docker.errors

    try:
        stream, _ = container.get_archive(LOG_PATH)  # type: ignore[attr-defined]
    except docker.errors.NotFound:
        return []
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.next()
        fh = tar.extractfile(member) if member is not None else None
        text = fh.read().decode("utf-8", "replace") if fh is not None else ""
    return parse_log(text)


def parse_log(text: str) -> list[ShellRecord]:
    records = []
    for line in text.splitlines():
        parts = line.split(" ")
        if len(parts) != 4 or not parts[1].lstrip("-").isdigit():
            continue
        try:
            cwd = base64.b64decode(parts[2]).decode("utf-8", "replace")
            command = base64.b64decode(parts[3]).decode("utf-8", "replace")
        except ValueError:
            continue
        records.append(ShellRecord(parts[0], int(parts[1]), cwd, command))
    return records


_ESCAPE = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|O.|.)")


def typed_lines(data: bytes) -> list[str]:
    """The lines a person entered, from raw terminal input: Enter ends a line,
    backspace and Ctrl-U edit it, Ctrl-C discards it, escape sequences (arrows) drop."""
    lines: list[str] = []
    current = bytearray()
    for chunk in _ESCAPE.split(data)[::2]:  # split keeps the one group of each match
        for byte in chunk:
            if byte in (0x0D, 0x0A):
                text = current.decode("utf-8", "replace").strip()
                if text:
                    lines.append(text)
                current.clear()
            elif byte in (0x7F, 0x08):
                if current:
                    current.pop()
            elif byte in (0x03, 0x15):
                current.clear()
            elif byte >= 0x20 or byte == 0x09:
                current.append(byte)
    return lines


def write_audit(
    audit: AuditedSandbox,
    records: list[ShellRecord],
    typed: list[str],
    user: str,
    earlier: list[ShellRecord] | None = None,
) -> int:
    """Append the shell's new `records` to the audit record, then every typed line no
    shell record (new or `earlier`) accounts for; returns how many were added."""
    for record in records:
        audit.note(record.time, record.command, user, record.cwd, record.exit_code, "shell")
    stamp = datetime.now(UTC).isoformat()
    seen = [r.command for r in [*(earlier or []), *records]]
    extra = [line for line in typed if not any(line in command for command in seen)]
    for line in extra:
        if line in ("exit", "logout"):
            continue
        audit.note(stamp, line, user, None, None, "tty")
    return len(records) + len(extra)
