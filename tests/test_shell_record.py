"""The recording shell's host-side parts, and the `human` agent's place among agents."""

from __future__ import annotations

import base64

import pytest

from opsbench.cli import main
from opsbench.shell import parse_log, typed_lines


def test_typed_lines_follow_line_editing() -> None:
    keys = (
        b"ls /tmpx\x7f\r"  # backspace
        b"\x1b[Aecho hi\r"  # an arrow key is dropped, the text kept
        b"rm -rf /\x03"  # Ctrl-C discards the line
        b"garbage\x15cat /etc/hostname\r"  # Ctrl-U clears it
        b"\r  \r"  # empty lines are not commands
    )
    assert typed_lines(keys) == ["ls /tmp", "echo hi", "cat /etc/hostname"]


def test_shell_log_lines_decode_and_junk_is_skipped() -> None:
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    text = (
        f"2026-01-01T00:00:00Z 0 {b64('/root')} {b64('echo a; echo b')}\n"
        "not a record\n"
        f"2026-01-01T00:00:01Z 127 {b64('/tmp')} {b64('nosuch')}\n"
    )
    records = parse_log(text)
    assert [(r.command, r.exit_code, r.cwd) for r in records] == [
        ("echo a; echo b", 0, "/root"),
        ("nosuch", 127, "/tmp"),
    ]


def test_a_job_refuses_the_human_agent(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["job", "--agent", "human", "--dry-run"])
    assert code != 0
    err = capsys.readouterr().err
    assert "opsbench shell TASK" in err and "human" in err
