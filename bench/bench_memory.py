"""Benchmark: peak memory of the real commands on hostile and huge single inputs.

Goal: every input under 1 GB peak RSS, and each refusal a named error (no MemoryError, no
traceback). Inputs are generated (no ../shared/data needed):
- 144 MP images (under the 150 MP cap) in a PDF: Flate gray, Flate RGB, Flate CMYK, JPEG;
- ten nested forms, each drawing the next ten times (10^10 draws in a few KB);
- 20,000 distinct inline images on one page;
- PNGs for `classify`: one declaring 40000 x 40000 (a bomb), one 12000 x 12000 RGB.
Each command runs in its own process, started by a small launcher that reports the peak
RSS of its child (ru_maxrss of RUSAGE_CHILDREN).
    .venv/bin/python bench/bench_memory.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

GOAL_MB = 1024
SIDE = 12000  # 144 MP
_LAUNCHER = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "last = (done.stderr.strip().splitlines() or [''])[-1]\n"
    "print(peak, done.returncode, last, sep='\\n')\n"
)


def measure(*args: str, env: dict[str, str]) -> tuple[float, float, int, str]:
    """(peak MB, seconds, exit code, last stderr line) of `python -m pipeline args`."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, sys.executable, "-m", "pipeline", *args],
        capture_output=True, text=True, cwd=REPO, env=env, check=True,
    )  # fmt: skip
    peak_kb, code, last = done.stdout.splitlines()[:3]
    return int(peak_kb) / 1024, time.monotonic() - started, int(code), last


def big_image_pdf(kind: str, path: Path) -> Path:
    import cv2
    import numpy as np

    from tests.test_pdf_raw import RawPdf

    pdf = RawPdf()
    ramp = np.linspace(0, 255, SIDE).astype(np.uint8)
    gray = np.tile(ramp[:, None], (1, SIDE))
    if kind == "gray":
        xref = pdf.add_image(gray)
    elif kind == "rgb":
        xref = pdf.add_image(np.dstack([gray, gray.T, gray]))
    elif kind == "cmyk":
        xref = pdf.add_image(np.dstack([gray, gray.T, gray, gray // 2]))
    else:
        ok, jpeg = cv2.imencode(".jpg", np.dstack([gray, gray.T, gray]))
        xref = pdf.add_object(
            f"<</Type/XObject/Subtype/Image/Width {SIDE}/Height {SIDE}/BitsPerComponent 8"
            "/ColorSpace/DeviceRGB/Filter/DCTDecode>>",
            jpeg.tobytes(),
        )
    pdf.add_page(b"q 500 0 0 500 50 50 cm /I Do Q", f"<</XObject<</I {xref} 0 R>>>>")
    return pdf.save(path)


def many_inline_pdf(path: Path, count: int = 20_000) -> Path:
    from tests.test_pdf_raw import RawPdf

    inline = b"q 3 0 0 3 %d %d cm BI /W 2 /H 2 /CS /G /BPC 8 ID %s EI Q"
    parts = [inline % (i % 200 * 3, i // 200 * 3, bytes([i % 256, i // 256 % 256, 7, 9]))
             for i in range(count)]  # fmt: skip
    pdf = RawPdf()
    pdf.add_page(b"\n".join(parts))
    return pdf.save(path)


def main() -> int:
    from tests.test_budgets import nested_forms_pdf
    from tests.test_classify import _png_header_claiming

    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    env = {**os.environ, "PIPELINE_PATHS_EXTRACTED": str(work / "extracted"),
           "PIPELINE_PATHS_METADATA": str(work / "metadata"),
           "PIPELINE_PATHS_STAGING_DB": str(work / "metadata" / "staging.sqlite")}  # fmt: skip
    peaks: list[float] = []

    def run(name: str, *args: str) -> None:
        peak, seconds, code, last = measure(*args, env=env)
        peaks.append(peak)
        said = f"exit {code}" + (f": {last[:110]}" if code else "")
        print(f"{name:38s} peak {peak:6.0f} MB  {seconds:5.1f} s  {said}", flush=True)

    for kind in ("gray", "rgb", "cmyk", "jpeg"):
        pdf = big_image_pdf(kind, work / f"big-{kind}.pdf")
        run(f"144 MP {kind}: images --derived", "images", str(pdf), "--out",
            str(work / f"out-{kind}"), "--derived")  # fmt: skip
        run(f"144 MP {kind}: extract", "extract", "--pdf", str(pdf))
    run("10 nested forms x10: extract", "extract", "--pdf", str(nested_forms_pdf(work / "f.pdf")))
    many = many_inline_pdf(work / "inline.pdf")
    run("20,000 inline images: images", "images", str(many), "--out", str(work / "inline"))
    bomb = work / "bomb.png"
    bomb.write_bytes(_png_header_claiming(40000, 40000))
    big_png = next((work / "out-rgb").glob("*.png"))
    run("PNG bomb + 144 MP RGB PNG: classify", "classify", str(bomb), str(big_png))

    worst = max(peaks)
    print(json.dumps({"worst_peak_mb": round(worst), "goal_mb": GOAL_MB}))
    print(f"worst peak {worst:.0f} MB (goal < {GOAL_MB} MB): {'ok' if worst < GOAL_MB else 'OVER'}")
    return 0 if worst < GOAL_MB else 1


if __name__ == "__main__":
    sys.exit(main())
