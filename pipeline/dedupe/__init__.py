"""Duplicate radiographs: exact and perceptual fingerprints, flags, dataset import.

`flag_duplicates(store, candidate_ids)` flags staged candidates that repeat another
candidate or an imported dataset image; `import_dataset(store, csv, images_dir)` loads an
existing dataset; `known_image(store, sha256)` tells whether the dataset has those bytes.
Imports are lazy so that `import pipeline.dedupe` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.dedupe.dataset_import import ImportResult, import_dataset, known_image
    from pipeline.dedupe.flagging import DuplicateMatch, flag_duplicates

__all__ = ["DuplicateMatch", "ImportResult", "flag_duplicates", "import_dataset", "known_image"]

_HOMES = {
    "DuplicateMatch": "pipeline.dedupe.flagging",
    "flag_duplicates": "pipeline.dedupe.flagging",
    "ImportResult": "pipeline.dedupe.dataset_import",
    "import_dataset": "pipeline.dedupe.dataset_import",
    "known_image": "pipeline.dedupe.dataset_import",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(name)
