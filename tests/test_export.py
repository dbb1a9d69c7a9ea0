from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pipeline.config import Config
from pipeline.export import ExportError, export_dataset
from pipeline.records import DATASET_COLUMNS, CandidateDraft
from pipeline.store import Store

HEADER = (
    "patientid,offset,sex,age,finding,RT_PCR_positive,survival,intubated,intubation_present,"
    "went_icu,in_icu,needed_supplemental_O2,extubated,temperature,pO2_saturation,"
    "leukocyte_count,neutrophil_count,lymphocyte_count,view,modality,date,location,folder,"
    "filename,doi,url,license,clinical_notes,other_notes"
)


def stage_image(store: Store, tmp_path: Path, name: str, **fields: object) -> int:
    image = tmp_path / name
    image.write_bytes(name.encode() * 10)
    import hashlib

    sha = hashlib.sha256(image.read_bytes()).hexdigest()
    draft = CandidateDraft(
        source_id="pdf-1",
        source_kind="pdf",
        image_sha256=sha,
        image_file=str(image),
        fields={"modality": "X-ray", "filename": name, **fields},
    )
    return store.stage([draft]).staged[0]


def test_export_writes_the_collections_header_and_images(
    store: Store, config: Config, tmp_path: Path
) -> None:
    first = stage_image(
        store, tmp_path, "a.png", age=65, sex="M", clinical_notes='a "quoted", note'
    )
    stage_image(store, tmp_path, "b.png")
    store.decide([first], "approved", actor="ana")
    csv_path, images = config.path("dataset_csv"), config.path("dataset_images")

    result = export_dataset(store, csv_path, images)

    assert csv_path.read_text().splitlines()[0] == HEADER
    assert len(DATASET_COLUMNS) == 29
    [row] = list(csv.DictReader(csv_path.open()))
    assert row["age"] == "65" and row["sex"] == "M" and row["modality"] == "X-ray"
    assert row["clinical_notes"] == 'a "quoted", note' and row["folder"] == "images"
    assert (images / row["filename"]).read_bytes() == (tmp_path / "a.png").read_bytes()
    assert result.rows == 1 and result.images_copied == 1


def test_exporting_twice_gives_the_same_file(store: Store, config: Config, tmp_path: Path) -> None:
    store.decide([stage_image(store, tmp_path, "a.png")], "approved", actor="ana")
    csv_path, images = config.path("dataset_csv"), config.path("dataset_images")
    export_dataset(store, csv_path, images)
    before = csv_path.read_bytes()
    again = export_dataset(store, csv_path, images)
    assert csv_path.read_bytes() == before and again.images_copied == 0


def test_export_refuses_values_outside_the_vocabulary(
    store: Store, config: Config, tmp_path: Path
) -> None:
    cid = stage_image(store, tmp_path, "a.png", sex="male")
    store.decide([cid], "approved", actor="ana")
    csv_path = config.path("dataset_csv")
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    csv_path.write_text("previous export\n")
    with pytest.raises(ExportError, match=f"candidate {cid}: sex: 'male'"):
        export_dataset(store, csv_path, config.path("dataset_images"))
    assert csv_path.read_text() == "previous export\n"


@pytest.mark.parametrize("name", ["../escape.png", "/etc/passwd", ".hidden.png", "a/b.png"])
def test_regression_export_refuses_a_file_name_that_leaves_the_images_folder(
    store: Store, config: Config, tmp_path: Path, name: str
) -> None:
    cid = stage_image(store, tmp_path, "a.png")
    store.decide([cid], "approved", actor="ana")
    store.update_fields(cid, {"filename": name}, actor="ana")
    with pytest.raises(ExportError, match="plain file name"):
        export_dataset(store, config.path("dataset_csv"), config.path("dataset_images"))
    assert not (tmp_path / "escape.png").exists()


def test_an_image_changed_since_approval_is_never_exported(
    store: Store, config: Config, tmp_path: Path
) -> None:
    cid = stage_image(store, tmp_path, "a.png")
    store.decide([cid], "approved", actor="ana")
    (tmp_path / "a.png").write_bytes(b"half of a re-extracted file")
    csv_path, images = config.path("dataset_csv"), config.path("dataset_images")
    with pytest.raises(ExportError, match=rf"candidate {cid}: image file changed since"):
        export_dataset(store, csv_path, images)
    assert not csv_path.exists() and not list(images.glob("*"))


def test_a_killed_exports_temporary_files_are_removed_and_files_are_readable(
    store: Store, config: Config, tmp_path: Path
) -> None:
    store.decide([stage_image(store, tmp_path, "a.png")], "approved", actor="ana")
    csv_path, images = config.path("dataset_csv"), config.path("dataset_images")
    images.mkdir(parents=True)
    (images / ".a.png.1f2e3d4c.part").write_bytes(b"half")
    export_dataset(store, csv_path, images)
    assert sorted(path.name for path in images.iterdir()) == ["a.png"]
    assert (images / "a.png").stat().st_mode & 0o044 == 0o044  # others may read the dataset
    assert csv_path.stat().st_mode & 0o044 == 0o044
