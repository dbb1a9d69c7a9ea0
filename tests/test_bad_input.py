"""A file that is not a usable PDF: one clear line, non-zero exit, nothing staged or lost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pymupdf
import pytest

from pipeline.errors import SourceError
from pipeline.pdf.open import open_pdf
from pipeline.records import CandidateDraft
from pipeline.store import Store
from tests.pdfs import Figure, write_pdf
from tests.phantoms import chest_xray_frontal

REPO = Path(__file__).resolve().parents[1]


def small_pdf(path: Path) -> Path:
    return write_pdf(path, [[Figure(chest_xray_frontal(128), "Figure 1. A chest film.")]])


def make_missing(tmp: Path) -> Path:
    return tmp / "nowhere.pdf"


def make_empty(tmp: Path) -> Path:
    path = tmp / "empty.pdf"
    path.write_bytes(b"")
    return path


def make_html(tmp: Path) -> Path:
    path = tmp / "paywall.pdf"
    path.write_text("<!DOCTYPE html><html><body>Please log in</body></html>")
    return path


def make_truncated(tmp: Path) -> Path:
    data = small_pdf(tmp / "whole.pdf").read_bytes()
    path = tmp / "truncated.pdf"
    path.write_bytes(data[: len(data) // 2])
    return path


def make_encrypted(tmp: Path) -> Path:
    path = tmp / "locked.pdf"
    doc = pymupdf.open(small_pdf(tmp / "plain.pdf"))
    doc.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")
    doc.close()
    return path


def make_garbage(tmp: Path) -> Path:
    path = tmp / "garbage.pdf"
    path.write_bytes(b"%PDF-1.7\n" + os.urandom(2000) + b"\n%%EOF\n")
    return path


CASES = {
    "missing": (make_missing, "file not found"),
    "empty": (make_empty, "empty file"),
    "html": (make_html, "HTML page"),
    "truncated": (make_truncated, "truncated PDF"),
    "encrypted": (make_encrypted, "encrypted PDF"),
    "garbage": (make_garbage, "PDF"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_open_pdf_names_file_and_reason(case: str, tmp_path: Path) -> None:
    make, reason = CASES[case]
    path = make(tmp_path)
    with pytest.raises(SourceError) as caught:
        open_pdf(path)
    assert caught.value.source == str(path)
    assert reason in caught.value.reason


@pytest.mark.parametrize("case", sorted(CASES))
def test_extract_command_fails_cleanly_and_keeps_the_store(
    case: str, tmp_path: Path, pipeline_env: dict[str, str], store: Store
) -> None:
    [earlier] = store.stage(
        [CandidateDraft("pdf-earlier", "pdf", "e" * 64, "/tmp/e.png", {"modality": "CT"})]
    ).staged
    store.decide([earlier], "approved", actor="ana")
    make, reason = CASES[case]
    path = make(tmp_path)

    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "extract", "--pdf", str(path), "--json"],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, **pipeline_env},
    )  # fmt: skip

    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(path) in lines[0] and reason in lines[0]
    assert done.stdout == ""
    rows = store.candidates()
    assert [(row.id, row.status) for row in rows] == [(earlier, "approved")]
    [failure] = store.sources()
    assert failure.status == "failed" and reason in failure.error
