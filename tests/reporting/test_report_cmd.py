"""`opsbench report` and `opsbench compare` handlers, called through their parsers."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from opsbench.commands import report_cmd
from opsbench.errors import OpsbenchError
from tests.reporting.report_jobs import hand_made_specs, write_job


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="opsbench")
    report_cmd.add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


def make_suite(root: Path) -> tuple[Path, Path]:
    a, b = root / "suite" / "a", root / "suite" / "b"
    write_job(a, hand_made_specs())
    write_job(b, hand_made_specs()[:3])
    return a, b


def test_report_one_job(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, _ = make_suite(tmp_path)
    assert run(["report", "--job-dir", str(a)]) == 0
    assert (a / "run_report.html").is_file()
    assert "run_report.html" in capsys.readouterr().out


def test_report_a_suite_writes_the_comparison(tmp_path: Path) -> None:
    a, b = make_suite(tmp_path)
    assert run(["report", "--jobs-dir", str(a.parent)]) == 0
    assert (a / "run_report.html").is_file() and (b / "run_report.html").is_file()
    html = (a.parent / "comparison.html").read_text(encoding="utf-8")
    assert 'href="a/run_report.html"' in html and 'href="b/run_report.html"' in html


def test_compare_with_out(tmp_path: Path) -> None:
    a, b = make_suite(tmp_path)
    out = tmp_path / "elsewhere" / "cmp.html"
    assert run(["compare", "--job-dir", str(a), "--job-dir", str(b), "--out", str(out)]) == 0
    assert out.is_file()
    assert "../suite/a/run_report.html" in out.read_text(encoding="utf-8")
    assert (a / "run_report.html").is_file()  # missing reports are built for the links


def test_compare_defaults_beside_the_jobs_under_their_own_name(tmp_path: Path) -> None:
    a, b = make_suite(tmp_path)
    assert run(["compare", "--job-dir", str(b), "--job-dir", str(a)]) == 0
    assert (a.parent / "comparison-a+b.html").is_file()
    assert not (a.parent / "comparison.html").exists()


def test_compare_of_two_jobs_leaves_the_suite_comparison_alone(tmp_path: Path) -> None:
    a, b = make_suite(tmp_path)
    c = a.parent / "c"
    write_job(c, hand_made_specs()[:2])
    assert run(["report", "--jobs-dir", str(a.parent)]) == 0
    suite_page = a.parent / "comparison.html"
    before = suite_page.read_bytes()

    assert run(["compare", "--job-dir", str(a), "--job-dir", str(b)]) == 0

    assert suite_page.read_bytes() == before
    assert 'href="c/run_report.html"' in suite_page.read_text(encoding="utf-8")
    assert run(["report", "--jobs-dir", str(a.parent)]) == 0  # the suite rewrites its own page


def test_compare_refuses_to_replace_a_page_made_from_other_inputs(tmp_path: Path) -> None:
    a, b = make_suite(tmp_path)
    c = a.parent / "c"
    write_job(c, hand_made_specs()[:2])
    out = tmp_path / "cmp.html"
    assert run(["compare", "--job-dir", str(a), "--job-dir", str(b), "--out", str(out)]) == 0
    assert run(["compare", "--job-dir", str(b), "--job-dir", str(a), "--out", str(out)]) == 0
    kept = out.read_bytes()  # the same jobs in another order: the same inputs

    with pytest.raises(OpsbenchError, match=r"other inputs.*--force"):
        run(["compare", "--job-dir", str(a), "--job-dir", str(c), "--out", str(out)])
    assert out.read_bytes() == kept
    assert run(["report", "--jobs-dir", str(a.parent)]) == 0
    with pytest.raises(OpsbenchError, match="suite"):
        run(
            [
                "compare",
                "--job-dir",
                str(a),
                "--job-dir",
                str(c),
                "--out",
                str(a.parent / "comparison.html"),
            ]
        )

    mine = tmp_path / "notes.html"
    mine.write_text("my own notes", encoding="utf-8")
    with pytest.raises(OpsbenchError, match="not by opsbench"):
        run(["compare", "--job-dir", str(a), "--job-dir", str(b), "--out", str(mine)])
    assert mine.read_text(encoding="utf-8") == "my own notes"
    args = ["compare", "--job-dir", str(a), "--job-dir", str(b), "--out", str(mine), "--force"]
    assert run(args) == 0
    assert b"my own notes" not in mine.read_bytes()


def test_user_errors(tmp_path: Path) -> None:
    with pytest.raises(OpsbenchError, match="no such directory"):
        run(["report", "--job-dir", str(tmp_path / "missing")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(OpsbenchError, match="not a job directory"):
        run(["compare", "--job-dir", str(tmp_path / "empty")])
    with pytest.raises(OpsbenchError, match="give --job-dir"):
        run(["report"])


def test_write_comparison_of_a_suite_directory(tmp_path: Path) -> None:
    from reporting.comparison import write_comparison

    a, _ = make_suite(tmp_path)
    out = write_comparison(a.parent)
    assert out == a.parent / "comparison.html" and out.is_file()
