"""`images PDF... --out DIR --json`: JSON Lines per image, one stderr line per failed PDF."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from pipeline.pdf.cli import register
from tests.pdfs import case_report_pdf


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["images", *argv])
    return args.func(args)


def test_several_pdfs_one_failing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = case_report_pdf(tmp_path / "first paper.pdf")
    second = case_report_pdf(tmp_path / "second.pdf")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"<html>not a pdf</html>")
    out = tmp_path / "out"

    code = run(str(first), str(broken), str(second), "--out", str(out), "--json")

    captured = capsys.readouterr()
    assert code == 1
    [error] = captured.err.strip().splitlines()
    assert error.startswith(str(broken)) and "not a PDF" in error
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert len(rows) == 6
    for key in ("pdf", "page", "index", "file", "width", "height", "xref", "encoding", "bbox"):
        assert all(key in row for row in rows)
    assert [row["index"] for row in rows] == [0, 1, 2, 0, 1, 2]
    assert Path(rows[0]["file"]).name == "first_paper-000.jpg"
    assert Path(rows[3]["file"]).name == "second-000.jpg"
    assert all(Path(row["file"]).parent == out for row in rows)
    assert rows[0]["caption"].startswith("Figure 1.")


def test_all_good_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pdf = case_report_pdf(tmp_path / "p.pdf")
    assert run(str(pdf), "--out", str(tmp_path / "o")) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
