"""Labelled images for the classifier: the dev split, real paper figures, journal styles.

- dev: `../shared/data/images/labels.csv` (file, modality, view, group).
- real: `bench/data/classify_real.tsv` lists images drawn in the PDFs of
  `../shared/data/realpapers/` and `../shared/data/pdfs/`, labelled by eye: the PDF, page,
  xref (or drawing index for inline images), an optional crop box (fractions of the image:
  one panel of a compound figure), modality, overlay (a heat map or colour mask over the
  radiograph), group (the paper) and split: `dev` papers may be looked at while designing,
  `check` papers only scored. For ../shared/data/realpapers the split is bench/splits.py's,
  the one the end-to-end score uses. The images are extracted once into a cache folder.
- styled: dev images printed the way journals print them (bench/journal_styles.py).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import splits

REPO = Path(__file__).resolve().parents[1]
REAL_TSV = REPO / "bench" / "data" / "classify_real.tsv"
REAL_PAPERS = "realpapers"  # sources in this folder of ../shared/data follow bench/splits.py
VIEWS = {"PA": "frontal", "AP": "frontal", "AP Supine": "frontal", "L": "lateral"}


def shared_data() -> Path:
    env = os.environ.get("PIPELINE_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "covid-image-pipeline" / "classify"


@dataclass(frozen=True)
class Sample:
    """One labelled image: where it comes from and what a curator would call it."""

    name: str
    modality: str  # xray, ct, other
    group: str  # patient or paper: never split across fit and check
    view: str | None = None  # frontal / lateral for X-rays with a curator's view
    overlay: bool = False
    style: str = ""  # how it is printed (journal style names, or tags from the TSV)
    path: Path | None = None
    box: tuple[float, float, float, float] | None = None  # crop, fractions of the image

    def load(self) -> np.ndarray:
        from pipeline.classify.decode import CLASSIFY_SIDE, load_image

        if self.path is None:
            raise ValueError(f"{self.name}: no file")
        # a crop of a large JPEG is decoded whole, as the panel splitter would cut it
        image = load_image(self.path, target_side=CLASSIFY_SIDE if self.box is None else 1 << 30)
        if self.box is None:
            return image
        h, w = image.shape[:2]
        x0, y0, x1, y1 = self.box
        return image[
            int(y0 * h) : max(int(y1 * h), int(y0 * h) + 8),
            int(x0 * w) : max(int(x1 * w), int(x0 * w) + 8),
        ].copy()


def dev_samples(root: Path | None = None) -> list[Sample]:
    """The dev split's labelled images ([] when the shared data is absent)."""
    images = (root or shared_data()) / "images"
    labels = images / "labels.csv"
    if not labels.exists():
        return []
    files = images / "files" if (images / "files").is_dir() else images
    with labels.open(newline="") as fh:
        return [
            Sample(
                name=row["file"],
                modality=row["modality"],
                group=row["group"],
                view=VIEWS.get(row["view"]) if row["modality"] == "xray" else None,
                overlay=False,
                style="dev",
                path=files / row["file"],
            )
            for row in csv.DictReader(fh)
        ]


def _extracted(pdf: Path) -> dict[tuple[int, str], Path]:
    """(page, xref or 'i<index>') -> image file, extracting the PDF once into the cache."""
    out = cache_dir() / pdf.parent.name / pdf.stem
    listing = out / "listing.json"
    if not listing.exists():
        from pipeline.pdf.images import extract_pdf_images

        images = extract_pdf_images(pdf, out)
        found = {
            f"{im.page}:{im.xref if im.xref is not None else f'i{im.index}'}": str(im.file)
            for im in images
            if im.file is not None and im.panel_of is None and not im.parts
        }
        listing.write_text(json.dumps(found))
    return {
        (int(key.split(":")[0]), key.split(":")[1]): Path(value)
        for key, value in json.loads(listing.read_text()).items()
    }


def real_samples(
    split: str | None = None, root: Path | None = None, fitted: bool | None = None
) -> list[Sample]:
    """Labelled images from real PDFs (`split` dev or check; None for both), only those the
    classifier is fitted on (`fitted` True) or only the others (False; bench/splits.py)."""
    base = root or shared_data()
    if not REAL_TSV.exists() or not (base / "realpapers").is_dir():
        return []
    samples = []
    listings: dict[Path, dict] = {}
    with REAL_TSV.open(newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh, delimiter="\t")):
            paper = Path(row["source"]).name
            real_paper = row["source"].startswith(REAL_PAPERS + "/")
            if real_paper and row["split"] != splits.split_of(paper):
                raise ValueError(
                    f"{REAL_TSV.name} line {n + 2}: split {row['split']!r}, but {paper} is a "
                    f"{splits.split_of(paper)} paper (bench/splits.py)"
                )
            if split is not None and row["split"] != split:
                continue
            is_fitted = row["split"] == "dev" and (not real_paper or splits.fitted(paper))
            if fitted is not None and is_fitted != fitted:
                continue
            pdf = base / row["source"]
            if pdf not in listings:
                listings[pdf] = _extracted(pdf)
            key = (int(row["page"]), row["xref"] or f"i{row['index']}")
            path = listings[pdf].get(key)
            if path is None:
                raise LookupError(f"{REAL_TSV.name} line {n + 2}: no image {key} in {pdf.name}")
            box = tuple(float(v) for v in row["box"].split(",")) if row["box"] else None
            samples.append(
                Sample(
                    name=f"{pdf.stem[:40]} p{row['page']} x{key[1]}"
                    + (f" [{row['box']}]" if box else ""),
                    modality=row["modality"],
                    group=row["group"],
                    overlay=row["overlay"] == "1",
                    style=row["style"],
                    path=path,
                    box=box,  # type: ignore[arg-type]
                )
            )
    return samples


def styled(
    samples: list[Sample], seed: int, copies: int = 1, names: list[str] | None = None
) -> Iterator[tuple[Sample, np.ndarray]]:
    """Each sample printed `copies` times in random journal styles (or the styles named).

    `other` images get the same treatment: a chart through viridis or a photo with arrows
    must stay `other`. A heat map counts as an overlay only on a radiograph.
    """
    import journal_styles as js

    rng = np.random.default_rng(seed)
    for sample in samples:
        image = sample.load()
        for _ in range(copies):
            out, used = js.journal_print(image, rng, names)
            overlay = sample.overlay or (
                sample.modality != "other" and bool(js.OVERLAY_STYLES.intersection(used))
            )
            yield replace(sample, style=" + ".join(used), overlay=overlay), out


def with_images(items) -> Iterator[tuple[Sample, np.ndarray]]:
    """(sample, image) for samples (loaded one at a time), or (sample, image) pairs as they
    come from `styled` and `synthetic_others`."""
    for item in items:
        yield item if isinstance(item, tuple) else (item, item.load())


def measured(items) -> list[tuple[Sample, object]]:
    """(sample, Features) for samples, or for (sample, image) pairs from `styled`."""
    from pipeline.classify.features import measure

    return [(sample, measure(image)) for sample, image in with_images(items)]


def _code_hash() -> str:
    """Hash of the code that makes a measurement, and of the labels and data folder it
    measures: a cached one is stale when any of them changes."""
    import hashlib

    digest = hashlib.sha1()
    classify = REPO / "pipeline" / "classify"
    for path in (*sorted(classify.glob("*.py")), *sorted((REPO / "bench").glob("*.py"))):
        if path.name in (
            "colour.py",
            "marks.py",
            "features.py",
            "texture.py",
            "decode.py",
            "journal_styles.py",
            "other_figures.py",
            "classify_data.py",
            "splits.py",
        ):
            digest.update(path.read_bytes())
    digest.update(REAL_TSV.read_bytes() if REAL_TSV.exists() else b"")
    labels = shared_data() / "images" / "labels.csv"
    digest.update(str(shared_data()).encode())  # as the samples' paths name it
    digest.update(labels.read_bytes() if labels.exists() else b"")
    return digest.hexdigest()[:12]


def cached(name: str, make) -> list[tuple[Sample, object]]:
    """`make()` (a list of (sample, Features)), kept on disk until the measuring code changes."""
    import pickle

    path = cache_dir() / f"features-{name}-{_code_hash()}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    items = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(items))
    return items


def synthetic_others(seed: int, per_kind: int) -> Iterator[tuple[Sample, np.ndarray]]:
    """Generated `other` figures (bench/other_figures.py), one group per kind."""
    import other_figures

    for n, (kind, image) in enumerate(other_figures.figures(seed, per_kind)):
        yield (
            Sample(
                name=f"{kind} {n}", modality="other", group=f"synthetic:{kind}", style="synthetic"
            ),
            image,
        )


def source_of(sample: Sample) -> str:
    """dev, styled, real or synthetic: the kinds of training data, weighted alike."""
    if sample.style == "synthetic":
        return "synthetic"
    if sample.box is not None or (sample.path is not None and cache_dir() in sample.path.parents):
        return "real"
    return "dev" if sample.style == "dev" else "styled"
