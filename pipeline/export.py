"""Write the approved rows as the collection's metadata.csv and copy their images."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.dedupe.hashing import file_sha256
from pipeline.errors import PipelineError
from pipeline.files import FileChanged, atomic_path, copy_atomic, remove_leftovers
from pipeline.records import DATASET_COLUMNS, check_row_values
from pipeline.store import Store


class ExportError(PipelineError):
    pass


@dataclass
class ExportResult:
    csv_path: Path
    rows: int
    images_copied: int


def export_dataset(store: Store, csv_path: Path, images_dir: Path) -> ExportResult:
    """Write imported dataset rows then approved candidates, validated, atomically.

    Nothing is written when any row breaks the collection's vocabularies or an approved
    image is missing or no longer has the bytes it was approved with: the error lists each
    offending candidate. Every image is copied under a temporary name and renamed once its
    bytes are checked; what a killed export left behind is removed first.
    """
    import pandas as pd

    approved = store.candidates(status="approved")
    problems = []
    for candidate in approved:
        fields = candidate.fields
        missing = [name for name in ("patientid", "filename", "modality") if not fields.get(name)]
        issues = check_row_values(fields) + [f"{name} is empty" for name in missing]
        image = Path(candidate.image_file)
        if not image.is_file():
            issues.append(f"image file is missing: {candidate.image_file}")
        elif file_sha256(image) != candidate.image_sha256:
            issues.append(
                f"image file changed since it was staged: {candidate.image_file} "
                "(re-extract the source, or reject this row)"
            )
        problems.extend(f"candidate {candidate.id}: {issue}" for issue in issues)
    if problems:
        raise ExportError("export refused, nothing written:\n  " + "\n  ".join(problems))

    rows = store.dataset.rows() + [candidate.fields for candidate in approved]
    frame = pd.DataFrame(rows, columns=list(DATASET_COLUMNS))

    images_dir.mkdir(parents=True, exist_ok=True)
    remove_leftovers(images_dir)
    remove_leftovers(csv_path.parent)
    copied = 0
    for candidate in approved:
        source = Path(candidate.image_file)
        target = images_dir / str(candidate.fields["filename"])
        if target.exists() and file_sha256(target) == candidate.image_sha256:
            continue
        try:
            copy_atomic(source, target, sha256=candidate.image_sha256)
        except FileChanged as exc:
            raise ExportError(f"export stopped at candidate {candidate.id}: {exc}") from exc
        copied += 1

    with atomic_path(csv_path) as temporary:
        frame.to_csv(temporary, index=False)
    return ExportResult(csv_path=csv_path, rows=len(frame), images_copied=copied)
