"""Compound figures in generated journal-style case reports: panels found, each with its letter
and its part of the caption, per layout class.

The layouts are tests/fixtures/composites.jsonl (white and dark gutters, hairlines, abutting
panels, label rows, uneven and nested grids, letters in boxes, single pictures), drawn by
tests/composites.py and put one per page in a case-report PDF; extraction runs the real path
(PDF images, then `pipeline.panels.split_panels`, as `pipeline.extract` runs them). Twice:
with phantoms (as the tests draw them), and, when ../shared/data is there, with real chest
X-rays and CT slices of the dev images in the panels (the figures named `real_*`).

- panel recall: expected panels that one extracted panel covers (IoU >= 0.8 in the figure);
- caption parts right: of those, in figures whose caption names each panel, the share with the
  caption's letter and its part of the caption;
- single pictures cut: single pictures that were cut anyway (should be none); with dev data
  also every single dev X-ray and CT slice, as it is and under a caption naming two panels.

Run: .venv/bin/python bench/eval_panels.py [--verbose]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import gate  # noqa: E402

RANDOM_LAYOUTS = 60
RANDOM_SEED = 15
REAL_ASSIGNMENTS = 3
DATA = Path(os.environ.get("PIPELINE_SHARED_DATA", REPO.parent / "shared" / "data"))


def _same_text(a: str | None, b: str) -> bool:
    return a is not None and " ".join(a.split()) == " ".join(b.split())


class RealPictures:
    """Dev images of each kind, chosen by the panel's seed, fitted to the panel's cell."""

    def __init__(self, folder: Path, salt: int = 0) -> None:
        self.salt = salt
        import csv

        views = {"PA": "xray", "AP": "xray", "AP Supine": "xray", "L": "lateral"}
        self.files: dict[str, list[Path]] = defaultdict(list)
        with open(folder / "labels.csv", newline="") as handle:
            for row in csv.DictReader(handle):
                if row["file"].startswith("pdf_"):
                    continue  # figures cut from PDFs: some are compound themselves
                kind = "ct" if row["modality"] == "ct" else views.get(row["view"])
                if row["modality"] != "other" and kind:
                    self.files[kind].append(folder / "files" / row["file"])

    def __call__(self, kind: str, width: int, height: int, seed: int, crop: float):  # noqa: ANN204
        import cv2

        from tests.composites import fit, phantom

        files = self.files.get(kind)
        if not files:
            return phantom(kind, width, height, seed, crop)
        path = files[(seed + 7919 * self.salt) % len(files)]
        picture = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        return fit(picture, width, height, crop)


def score(composites: list, verbose: bool) -> dict[str, float]:
    from pipeline.pdf.caption_text import split_panel_captions
    from tests.composites import case_report_pdf, extracted_with_panels, matched

    with tempfile.TemporaryDirectory() as tmp:
        pdf = case_report_pdf(Path(tmp) / "case-reports.pdf", composites)
        images = extracted_with_panels(pdf, Path(tmp) / "out")
    figures = [image for image in images if image.panel_of is None]
    by_class: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    named_total = named_right = singles = singles_cut = 0
    for composite, figure in zip(composites, figures, strict=True):
        panels = [image for image in images if image.panel_of == figure.index]
        found = [p.panel_box for p in panels]
        expected = len(composite.boxes)
        if not composite.expect_cut:
            singles += 1
            singles_cut += bool(panels)
            hits = 0 if panels else expected
        else:
            hits = matched(composite.boxes, found)
            parts = split_panel_captions(composite.caption)
            if len(parts) == expected:
                named_total += expected
                named_right += sum(
                    p.panel == letter and _same_text(p.panel_caption, parts[letter])
                    for p, letter in zip(panels, parts, strict=False)
                )
        counts = by_class[composite.case["class"]]
        counts[0] += hits
        counts[1] += expected
        if verbose or hits < expected:
            letters = "".join(p.panel or "?" for p in panels)
            print(f"  {composite.id:<28} {hits}/{expected} panels  letters {letters or '-'}")
    for name, (hits, total) in by_class.items():
        print(f"  {name:<20}{hits:>5}/{total:<4}")
    hits = sum(h for h, _ in by_class.values())
    total = sum(t for _, t in by_class.values())
    print(f"  panel recall {hits}/{total}; caption parts right {named_right}/{named_total};"
          f" single pictures cut {singles_cut}/{singles}")  # fmt: skip
    return {
        "panel_recall": hits / total,
        "caption_parts_right": named_right / max(1, named_total),
        "single_pictures_cut": singles_cut / max(1, singles),
    }


def singles_cut(pictures: RealPictures) -> dict[str, float]:
    """Share of single dev X-rays and CT slices cut: as they are, and with a caption that
    names two panels (letters for regions of one film: "consolidation (A) and effusion (B)")."""
    import cv2

    from pipeline.compound import split_figure

    files = sorted({path for paths in pictures.files.values() for path in paths})
    plain = named = 0
    for path in files:
        pixels = cv2.imread(str(path), cv2.IMREAD_COLOR)
        plain += bool(split_figure(pixels).panels)
        named += bool(split_figure(pixels, named=2).panels)
    print(f"  cut: {plain}/{len(files)}; with a caption naming two panels: {named}/{len(files)}")
    return {
        "real_singles_cut": plain / len(files),
        "real_singles_cut_caption_names_two": named / len(files),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--verbose", action="store_true", help="one line per figure")
    args = parser.parse_args()
    import numpy as np

    from tests.composites import build, load_layouts, random_layout

    layouts = load_layouts()
    rng = np.random.default_rng(RANDOM_SEED)
    randoms = [random_layout(rng, n) for n in range(RANDOM_LAYOUTS)]
    print("== phantoms")
    figures = score([build(case) for case in layouts], args.verbose)
    print(f"== {RANDOM_LAYOUTS} random layouts, phantoms")
    figures["random_panel_recall"] = score([build(c) for c in randoms], args.verbose)[
        "panel_recall"
    ]
    images = DATA / "images"
    if (images / "labels.csv").exists():
        print("== real dev images in the panels")
        pictures = RealPictures(images)
        real = score([build(case, pictures) for case in layouts], args.verbose)
        figures.update({f"real_{key}": value for key, value in real.items()})
        recalls = []
        for salt in range(REAL_ASSIGNMENTS):  # the estimate varies with the images drawn
            print(f"== {RANDOM_LAYOUTS} random layouts, real dev images (draw {salt + 1})")
            drawn = RealPictures(images, salt)
            recalls.append(score([build(c, drawn) for c in randoms], args.verbose)["panel_recall"])
        figures["real_random_panel_recall"] = sum(recalls) / len(recalls)
        print("== single dev radiographs and CT slices")
        figures.update(singles_cut(pictures))
    else:
        print(f"(no dev images at {images}: real_* figures not measured)")
    return gate.check("panels", figures, only_reported="real_panel_recall" not in figures)


if __name__ == "__main__":
    sys.exit(main())
