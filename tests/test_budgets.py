"""Work and memory budgets: a hostile PDF or image is refused by name, never by exhausting
the machine; a large image that fits is written in bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from pipeline.budgets import WorkBudgetExceeded
from pipeline.config import Config, ExtractionSettings, load_config
from pipeline.errors import SourceError
from pipeline.extract import extract
from pipeline.pdf.images import extract_pdf_images
from pipeline.sources.pdf import LocalPdf
from pipeline.store import Store
from tests.test_pdf_raw import RawPdf, gradient

REPO = Path(__file__).resolve().parents[1]


def nested_forms_pdf(path: Path, levels: int = 10, fanout: int = 10) -> Path:
    """`levels` forms, each drawing the next `fanout` times: fanout**levels image draws."""
    pdf = RawPdf()
    image = pdf.add_image(gradient(8, 8))
    form = pdf.add_form(b"q 10 0 0 10 0 0 cm /I Do Q", f"<</XObject<</I {image} 0 R>>>>")
    for _level in range(levels - 1):
        body = b" ".join(b"q 0.5 0 0 0.5 %d 0 cm /F Do Q" % i for i in range(fanout))
        form = pdf.add_form(body, f"<</XObject<</F {form} 0 R>>>>")
    pdf.add_page(b"/F Do", f"<</XObject<</F {form} 0 R>>>>")
    return pdf.save(path)


def test_ten_nested_forms_are_refused_by_the_draw_budget(tmp_path: Path) -> None:
    pdf = nested_forms_pdf(tmp_path / "forms.pdf")  # 10^10 draws in a few KB
    assert pdf.stat().st_size < 10_000
    with pytest.raises(WorkBudgetExceeded) as caught:
        extract_pdf_images(pdf, tmp_path / "out")
    assert caught.value.source == str(pdf)
    assert "more than 100,000 image draws on page 1" in caught.value.reason
    assert "[extraction] max_draws_per_page" in caught.value.reason


def test_a_budget_failure_is_recorded_against_the_source(
    tmp_path: Path, config: Config, store: Store
) -> None:
    pdf = nested_forms_pdf(tmp_path / "forms.pdf")
    with pytest.raises(SourceError, match="work budget exceeded"):
        extract(LocalPdf(pdf), config, store)
    [row] = store.sources()
    assert row.status == "failed" and row.error and "image draws on page 1" in row.error


def limited(monkeypatch: pytest.MonkeyPatch, **values: float) -> ExtractionSettings:
    for key, value in values.items():
        monkeypatch.setenv(f"PIPELINE_EXTRACTION_{key.upper()}", str(value))
    return load_config().extraction


def test_every_budget_is_read_from_the_config_and_named_when_exceeded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf = RawPdf()
    image = pdf.add_image(gradient())
    resources = f"<</XObject<</I {image} 0 R>>>>"
    pdf.add_page(b"q Q " * 300 + b"q 64 0 0 48 0 0 cm /I Do Q", resources)
    pdf.add_page(b"q 64 0 0 48 0 0 cm /I Do Q " * 40, resources)
    path = pdf.save(tmp_path / "busy.pdf")
    cases = {
        "max_operators_per_page": (500, "operators on page 1"),
        "max_operators_per_document": (700, "operators in the document"),
        "max_draws_per_page": (30, "image draws on page 2"),
        "max_draws_per_document": (40, "image draws in the document"),
        "max_stream_mb_per_page": (0.001, "MB of content streams on page 1"),
        "max_stream_mb_per_document": (0.0015, "MB of content streams in the document"),
    }
    for key, (limit, says) in cases.items():
        budget = limited(monkeypatch, **{key: limit})
        with pytest.raises(WorkBudgetExceeded, match=f"{says} \\(\\[extraction\\] {key}\\)"):
            extract_pdf_images(path, tmp_path / key, limits=budget, derived=False)
        monkeypatch.delenv(f"PIPELINE_EXTRACTION_{key.upper()}")
    assert len(extract_pdf_images(path, tmp_path / "whole", derived=False)) == 1


def test_distinct_images_are_budgeted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inline = b"q 3 0 0 3 %d 0 cm BI /W 2 /H 2 /CS /G /BPC 8 ID %s EI Q"
    pdf = RawPdf()
    pdf.add_page(b"\n".join(inline % (3 * i, bytes([i, 1, 2, 3])) for i in range(12)))
    path = pdf.save(tmp_path / "inline.pdf")
    budget = limited(monkeypatch, max_images_per_document=10)
    with pytest.raises(WorkBudgetExceeded, match="more than 10 distinct images in the document"):
        extract_pdf_images(path, tmp_path / "out", limits=budget)


def test_images_over_the_caps_are_listed_with_their_true_size(tmp_path: Path) -> None:
    pdf = RawPdf()
    tiny = zlib.compress(b"\0" * 64)
    claims = "<</Type/XObject/Subtype/Image/Width {w}/Height {h}/BitsPerComponent 8" \
             "/ColorSpace/Device{space}/Filter/FlateDecode{extra}>>"  # fmt: skip
    huge = pdf.add_object(claims.format(w=40000, h=40000, space="Gray", extra=""), tiny)
    # 144 MP in CMYK: under the pixel cap, but 549 MB to decode (and not streamable).
    cmyk = pdf.add_object(claims.format(w=12000, h=12000, space="CMYK", extra=""), tiny)
    pdf.add_page(b"q 9 0 0 9 0 0 cm /A Do Q q 9 0 0 9 20 0 cm /B Do Q",
                 f"<</XObject<</A {huge} 0 R/B {cmyk} 0 R>>>>")  # fmt: skip
    first, second = extract_pdf_images(pdf.save(tmp_path / "big.pdf"), tmp_path / "out")
    assert first.file is None and "too-large" in first.flags
    assert first.skipped == "too large: 40000x40000 is over the 150 MP cap " \
                            "([extraction] max_megapixels)"  # fmt: skip
    assert second.file is None and "too-large" in second.flags
    assert second.skipped is not None
    assert "12000x12000 needs 549 MB, over the 450 MB budget ([extraction] max_image_mb)" in (
        second.skipped
    )


# Peak RSS from VmHWM: ru_maxrss would carry the forking pytest process's peak over exec.
_MEASURE = """
import json, re, sys
from pathlib import Path
from pipeline.pdf.images import extract_pdf_images
def peak_kb():
    return int(re.search(r"VmHWM:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1))
small, big, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
extract_pdf_images(small, out / "small")  # imports and MuPDF warmed up: the baseline
before = peak_kb()
files = [str(i.file) for i in extract_pdf_images(big, out / "big", derived=False)]
print(json.dumps({"before_kb": before, "after_kb": peak_kb(), "files": files}))
"""


def test_a_large_image_is_written_in_bounded_memory(tmp_path: Path) -> None:
    """6000 x 6000 RGB (108 MB decoded): writing it used to hold about five copies."""
    side = 6000
    ramp = np.linspace(0, 255, side).astype(np.uint8)
    pixels = np.dstack([np.tile(ramp[:, None], (1, side))] * 3)
    pixels[:, :, 1] = pixels[:, :, 1].T
    pdf = RawPdf()
    image = pdf.add_image(pixels)
    pdf.add_page(b"q 500 0 0 500 50 50 cm /I Do Q", f"<</XObject<</I {image} 0 R>>>>")
    big = pdf.save(tmp_path / "big.pdf")
    small = RawPdf()
    resources = f"<</XObject<</I {small.add_image(gradient())} 0 R>>>>"
    small.add_page(b"q 64 0 0 48 0 0 cm /I Do Q", resources)
    small_pdf = small.save(tmp_path / "small.pdf")
    decoded_kb = pixels.nbytes // 1024
    del pixels

    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(small_pdf), str(big), str(tmp_path / "out")],
        capture_output=True, text=True, cwd=REPO, check=True,
    )  # fmt: skip
    measured = json.loads(result.stdout)
    grown = measured["after_kb"] - measured["before_kb"]
    # Written in row blocks: a small fraction of the image (bench_memory.py measures the
    # commands whole, on 144 MP images).
    assert grown < 0.5 * decoded_kb, measured
    import cv2

    written = cv2.imread(measured["files"][0], cv2.IMREAD_UNCHANGED)
    assert written.shape == (side, side, 3)
    assert written[10, 3000].tolist() == [int(ramp[10]), int(ramp[3000]), int(ramp[10])]  # BGR
