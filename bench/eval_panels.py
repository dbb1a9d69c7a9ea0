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
  also every single dev X-ray and CT slice, as it is and under a caption naming two panels;
- panels staged (real_* figures): of the expected panels, those found and classified as a
  radiograph (as `pipeline.extract` would stage them), each read by the whole classifier with
  the model of the group-wise CV fold that was fitted without the dev image in it.
The random layouts are also stored at half the size they were drawn, as JPEG (a publisher's
downsampled copy: cells of 90-165 px), and scored in the pixels they were drawn in; and every
single dev X-ray and CT slice reduced to 100 and 130 px on its short side, as JPEG: how many
small single pictures are cut.

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
HALF_SIZE = 0.5  # figures stored at half the size they were drawn (cells of 90-165 px)
HALF_SIZE_NOTE = "stored at half size as JPEG"
SMALL_SINGLES = (100, 130)  # short sides (px) the single dev pictures are also reduced to
DATA = Path(os.environ.get("PIPELINE_SHARED_DATA", REPO.parent / "shared" / "data"))


def _same_text(a: str | None, b: str) -> bool:
    return a is not None and " ".join(a.split()) == " ".join(b.split())


class RealPictures:
    """Dev images of each kind, chosen by the panel's seed, fitted to the panel's cell."""

    def __init__(self, folder: Path, salt: int = 0) -> None:
        self.salt = salt
        self.used: list[Path | None] = []  # the file drawn for each panel, in drawing order
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
            self.used.append(None)
            return phantom(kind, width, height, seed, crop)
        path = files[(seed + 7919 * self.salt) % len(files)]
        self.used.append(path)
        picture = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        return fit(picture, width, height, crop)


class HeldOutReader:
    """Reads a panel with the whole classifier and the model of the group-wise CV fold that
    was fitted without the dev image in it (the shipped model has seen every dev image)."""

    def __init__(self) -> None:
        import classify_data as data
        import classify_fit as cf
        import train_classify as tc
        from eval_classify import fold_models

        cv = cf.cross_validate(*tc.arrays(tc.training_set(tc.DEFAULT_COPIES, tc.DEFAULT_SYNTHETIC)))
        self.models = fold_models(cv)
        self.fold_of = cv.fold_of
        self.group_of = {sample.name: sample.group for sample in data.dev_samples()}

    def staged(self, panel_file: Path, drawn: Path) -> bool:
        from pipeline.classify.classifier import classify_array
        from pipeline.classify.decode import CLASSIFY_SIDE, load_image

        model = self.models[self.fold_of[self.group_of[drawn.name]]]
        image = load_image(panel_file, target_side=CLASSIFY_SIDE)  # as classify_file reads it
        return classify_array(image, model).modality != "other"


def built(cases: list, pictures: RealPictures) -> list[tuple[object, list[Path | None]]]:
    """Each layout drawn with real pictures, with the file drawn into each of its panels."""
    from tests.composites import build

    out = []
    for case in cases:
        pictures.used.clear()
        composite = build(case, pictures)
        out.append((composite, list(pictures.used)))
    return out


def score(
    composites: list,
    verbose: bool,
    drawn: list | None = None,
    reader: HeldOutReader | None = None,
    print_scale: float = 1.0,
) -> dict[str, float]:
    """`drawn`: the files in each composite's panels; with `reader`, the panels found are
    also classified (panels staged). `print_scale`: each figure stored downsampled by it, as
    a JPEG (tests.composites.case_report_pdf)."""
    with tempfile.TemporaryDirectory() as tmp:
        from tests.composites import case_report_pdf, extracted_with_panels

        pdf = case_report_pdf(Path(tmp) / "case-reports.pdf", composites, print_scale)
        images = extracted_with_panels(pdf, Path(tmp) / "out")
        return _scored(composites, images, verbose, drawn, reader, print_scale)


def _in_drawn_pixels(
    box: tuple[int, int, int, int] | None, print_scale: float
) -> tuple[int, ...] | None:
    """A panel's box in the stored figure, in the pixels of the figure as drawn."""
    return None if box is None else tuple(round(v / print_scale) for v in box)


def _scored(
    composites: list,
    images: list,
    verbose: bool,
    drawn: list | None,
    reader: HeldOutReader | None,
    print_scale: float = 1.0,
) -> dict[str, float]:
    from pipeline.pdf.caption_text import split_panel_captions
    from tests.composites import pairs

    figures = [image for image in images if image.panel_of is None]
    staged = radiographs = 0
    by_class: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    named_total = named_right = singles = singles_cut = 0
    for n, (composite, figure) in enumerate(zip(composites, figures, strict=True)):
        panels = [image for image in images if image.panel_of == figure.index]
        found = [_in_drawn_pixels(p.panel_box, print_scale) for p in panels]
        expected = len(composite.boxes)
        if not composite.expect_cut:
            singles += 1
            singles_cut += bool(panels)
            hits = 0 if panels else expected
        else:
            found_pairs = pairs(composite.boxes, found)
            hits = len(found_pairs)
            if reader is not None and drawn is not None:
                files = drawn[n]
                radiographs += sum(file is not None for file in files)
                for e, f in found_pairs:
                    if files[e] is None:
                        continue
                    if panels[f].file is not None and reader.staged(panels[f].file, files[e]):
                        staged += 1
                    else:
                        print(f"  {composite.id:<28} panel {chr(65 + e)} ({composite.kinds[e]}, "
                              f"{files[e].name}) found, not staged")  # fmt: skip
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
    out = {
        "panel_recall": hits / total,
        "caption_parts_right": named_right / max(1, named_total),
        "single_pictures_cut": singles_cut / max(1, singles),
    }
    if reader is not None and radiographs:
        print(f"  panels staged (found, and read as a radiograph by the CV fold that never saw "
              f"the image): {staged}/{radiographs}")  # fmt: skip
        out["panels_staged"] = staged / radiographs
    return out


def singles_cut(pictures: RealPictures) -> dict[str, float]:
    """Share of single dev X-rays and CT slices cut: as they are, and with a caption that
    names two panels (letters for regions of one film: "consolidation (A) and effusion (B)")."""
    import cv2
    import numpy as np

    from pipeline.compound import split_figure
    from tests.composites import downsampled_jpeg

    files = sorted({path for paths in pictures.files.values() for path in paths})
    plain = named = small = 0
    for path in files:
        pixels = cv2.imread(str(path), cv2.IMREAD_COLOR)
        plain += bool(split_figure(pixels).panels)
        named += bool(split_figure(pixels, named=2).panels)
        for side in SMALL_SINGLES:
            stored = downsampled_jpeg(pixels, side / min(pixels.shape[:2]))
            reduced = cv2.imdecode(np.frombuffer(stored, np.uint8), cv2.IMREAD_COLOR)
            small += bool(split_figure(reduced).panels)
    print(f"  cut: {plain}/{len(files)}; with a caption naming two panels: {named}/{len(files)}")
    tried = len(files) * len(SMALL_SINGLES)
    print(f"  reduced to {' and '.join(map(str, SMALL_SINGLES))} px on the short side (JPEG): "
          f"cut {small}/{tried}")  # fmt: skip
    return {
        "real_singles_cut": plain / len(files),
        "real_singles_cut_caption_names_two": named / len(files),
        "real_small_singles_cut": small / tried,
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
    print(f"== {RANDOM_LAYOUTS} random layouts, phantoms, {HALF_SIZE_NOTE}")
    figures["random_half_size_panel_recall"] = score(
        [build(c) for c in randoms], args.verbose, print_scale=HALF_SIZE
    )["panel_recall"]
    images = DATA / "images"
    if (images / "labels.csv").exists():
        print("== real dev images in the panels")
        reader = HeldOutReader()
        pictures = RealPictures(images)
        composites, drawn = zip(*built(layouts, pictures), strict=True)
        real = score(list(composites), args.verbose, list(drawn), reader)
        figures.update({f"real_{key}": value for key, value in real.items()})
        recalls, staged = [], []
        for salt in range(REAL_ASSIGNMENTS):  # the estimate varies with the images drawn
            print(f"== {RANDOM_LAYOUTS} random layouts, real dev images (draw {salt + 1})")
            composites, drawn = zip(*built(randoms, RealPictures(images, salt)), strict=True)
            scored = score(list(composites), args.verbose, list(drawn), reader)
            recalls.append(scored["panel_recall"])
            if "panels_staged" in scored:
                staged.append(scored["panels_staged"])
        figures["real_random_panel_recall"] = sum(recalls) / len(recalls)
        if staged:
            figures["real_random_panels_staged"] = sum(staged) / len(staged)
        print(f"== {RANDOM_LAYOUTS} random layouts, real dev images (draw 1), {HALF_SIZE_NOTE}")
        composites, drawn = zip(*built(randoms, RealPictures(images)), strict=True)
        half = score(list(composites), args.verbose, list(drawn), reader, HALF_SIZE)
        figures["real_random_half_size_panel_recall"] = half["panel_recall"]
        figures["real_random_half_size_panels_staged"] = half["panels_staged"]
        print("== single dev radiographs and CT slices")
        figures.update(singles_cut(pictures))
    else:
        print(f"(no dev images at {images}: real_* figures not measured)")
    return gate.check("panels", figures, only_reported="real_panel_recall" not in figures)


if __name__ == "__main__":
    sys.exit(main())
