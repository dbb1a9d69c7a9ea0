"""Load an existing dataset (metadata.csv + images folder) so its images are never proposed.

Every row is kept (export writes imported rows first), keyed on its file name: importing
again updates changed rows and re-fingerprints only images whose bytes changed. A row whose
image is missing or unreadable is still imported, without hashes, and reported.

Files are read only inside IMAGES_DIR (or the sibling folder a row's `folder` names, as the
collection keeps CT volumes in volumes/ beside images/): a file name that is absolute, holds
`..`, or reaches through a symlink to somewhere else is refused, so a CSV cannot make the
import read (and fingerprint) any file on the machine.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.dedupe.hashing import file_sha256, fingerprint_file
from pipeline.dedupe.storage import packed, stored_keys
from pipeline.errors import ImageReadError, PipelineError
from pipeline.records import DATASET_COLUMNS
from pipeline.store import Store

log = logging.getLogger(__name__)


class DatasetImportError(PipelineError):
    pass


# Rows imported without an image fingerprint (or skipped), reported as problems.
PROBLEMS = ("missing", "unreadable", "refused", "duplicate-row")


@dataclass
class RowOutcome:
    filename: str
    # "added", "updated", "unchanged", "missing", "unreadable", "refused", "duplicate-row"
    status: str
    reason: str | None = None
    sha256: str | None = None
    phash: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if value is not None}


@dataclass
class ImportResult:
    rows: list[RowOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for row in self.rows if row.status == status)

    @property
    def problems(self) -> list[RowOutcome]:
        """Rows imported without an image fingerprint, or skipped."""
        return [r for r in self.rows if r.status in PROBLEMS]

    def summary(self) -> dict[str, int]:
        statuses = ("added", "updated", "unchanged", *PROBLEMS)
        return {status: self.count(status) for status in statuses}


def known_image(store: Store, sha256: str) -> bool:
    """Whether an imported dataset image has exactly these bytes (then it is not staged)."""
    return store.dataset.has_image(sha256)


def read_metadata(metadata_csv: Path) -> list[dict[str, str | None]]:
    """The rows of a metadata.csv, with the dataset's columns only ("" read as None)."""
    try:
        with open(metadata_csv, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            if "filename" not in header:
                raise DatasetImportError(f"{metadata_csv}: no 'filename' column")
            return [{name: (row.get(name) or None) for name in DATASET_COLUMNS} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetImportError(f"{metadata_csv}: {exc}") from exc


def import_dataset(store: Store, metadata_csv: Path, images_dir: Path) -> ImportResult:
    """Import (or refresh) the dataset's rows with the sha256 and phash of their images."""
    rows = read_metadata(Path(metadata_csv))
    fingerprinted = stored_keys(store, "dataset")
    result = ImportResult()
    seen: set[str] = set()
    for row in rows:
        filename = row.get("filename")
        if not filename:
            result.rows.append(RowOutcome("", "duplicate-row", "row has no filename"))
            continue
        if filename in seen:
            result.rows.append(RowOutcome(filename, "duplicate-row", "file name repeated"))
            continue
        seen.add(filename)
        image_path = _image_path(Path(images_dir), row)
        result.rows.append(_import_row(store, row, image_path, fingerprinted))
    return result


def _image_path(images_dir: Path, row: dict[str, str | None]) -> Path | str:
    """The row's file in IMAGES_DIR, or in its `folder` beside it (the collection keeps CT
    volumes in volumes/ next to images/); a string says why the name is refused."""
    name = str(row["filename"])
    parts = Path(name).parts
    if Path(name).is_absolute() or ".." in parts or "\\" in name or len(parts) != 1:
        return f"file name {name!r} is not a plain name inside {images_dir}"
    places = [images_dir]
    folder = row.get("folder")
    if folder and folder not in (images_dir.name, ".", "..") and len(Path(folder).parts) == 1:
        places.append(images_dir.parent / folder)
    for place in places:
        path = place / name
        if path.exists():
            if not path.resolve().is_relative_to(place.resolve()):
                return f"{path} leads outside {place} (a symbolic link)"
            return path
    return images_dir / name


def _import_row(
    store: Store,
    row: dict[str, str | None],
    image_path: Path | str,
    fingerprinted: dict[str, str | None],
) -> RowOutcome:
    filename = str(row["filename"])
    outcome = RowOutcome(filename, "added")
    fingerprint = None
    sha256: str | None = None
    if isinstance(image_path, str):
        outcome.status, outcome.reason = "refused", image_path
    elif not image_path.is_file():
        outcome.status, outcome.reason = "missing", f"image file is missing: {image_path}"
    else:
        sha256 = file_sha256(image_path)
        if fingerprinted.get(filename) != sha256:
            try:
                fingerprint = fingerprint_file(image_path)
            except ImageReadError as exc:
                outcome.status, outcome.reason = "unreadable", f"{image_path}: {exc.reason}"
    no_image = outcome.status in ("missing", "unreadable", "refused")
    saved = store.dataset.save(
        filename,
        row,
        sha256,
        fingerprint=packed(fingerprint) if fingerprint is not None else None,
        forget_fingerprint=no_image,
    )
    if not no_image:
        outcome.status = saved
    outcome.sha256 = sha256
    outcome.phash = fingerprint.phash if fingerprint is not None else None
    return outcome
