"""Duplicate flags on a real store, dataset import, and the import-dataset command."""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from pipeline.dedupe.cli import register
from pipeline.dedupe.dataset_import import import_dataset, known_image
from pipeline.dedupe.flagging import DuplicateMatch, flag_duplicates
from pipeline.dedupe.hashing import Fingerprint, file_sha256
from pipeline.dedupe.storage import LiveIndex, load_index
from pipeline.records import DATASET_COLUMNS, CandidateDraft
from pipeline.store import Store
from pipeline.store.candidates import next_patientid
from pipeline.store.fingerprints import Key
from pipeline.store.schema import candidates, dataset_images
from tests import phantoms
from tests.conftest import SHARED_DATA


def write_image(path: Path, image: np.ndarray, quality: int = 95) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if path.suffix == ".jpg" else []
    assert cv2.imwrite(str(path), image, params)
    return path


def stage(store: Store, path: Path, source: str = "pdf-a") -> int:
    draft = CandidateDraft(
        source_id=source, source_kind="pdf", image_sha256=file_sha256(path), image_file=str(path)
    )
    result = store.stage([draft])
    return (result.staged or result.existing)[0]


def test_copy_in_another_paper_is_flagged_once(store: Store, tmp_path: Path) -> None:
    film = phantoms.chest_xray_frontal(seed=5)
    first = stage(store, write_image(tmp_path / "a" / "film.png", film), "pdf-a")
    other = stage(store, write_image(tmp_path / "a" / "ct.png", phantoms.ct_axial(seed=5)))
    half = cv2.resize(film, (256, 256), interpolation=cv2.INTER_AREA)
    copy = stage(store, write_image(tmp_path / "b" / "film.jpg", half, quality=60), "pdf-b")

    assert flag_duplicates(store, [first, other]) == []
    matches = flag_duplicates(store, [copy])
    assert [(m.candidate_id, m.other_kind, m.other_id) for m in matches] == [
        (copy, "candidate", first)
    ]
    assert isinstance(matches[0], DuplicateMatch) and 0 <= matches[0].distance < 0.3
    flags = store.candidate(copy).flags
    assert flags == [f"possible duplicate of candidate {first} (distance {matches[0].distance})"]
    assert store.candidate(copy).phash and store.candidate(first).phash

    again = flag_duplicates(store, [copy])
    assert [(m.other_kind, m.other_id) for m in again] == [("candidate", first)]
    assert store.candidate(copy).flags == flags
    assert store.candidate(other).flags == []


def test_same_bytes_in_two_sources_is_distance_zero(store: Store, tmp_path: Path) -> None:
    path = write_image(tmp_path / "x.png", phantoms.ct_axial(seed=9))
    first = stage(store, path, "pdf-a")
    second = stage(store, path, "pdf-b")
    matches = flag_duplicates(store, [first, second])
    assert {(m.candidate_id, m.other_id, m.distance) for m in matches} == {
        (first, second, 0.0),
        (second, first, 0.0),
    }
    assert store.candidate(second).flags == [
        f"possible duplicate of candidate {first} (distance 0.0)"
    ]


def test_unreadable_candidate_image_is_skipped(store: Store, tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    candidate = stage(store, broken)
    assert flag_duplicates(store, [candidate]) == []


def write_dataset(folder: Path, rows: list[dict[str, str]]) -> Path:
    csv_path = folder / "metadata.csv"
    folder.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*DATASET_COLUMNS, "Unnamed: 29"])
        writer.writeheader()
        for row in rows:
            writer.writerow({"folder": "images", "modality": "X-ray", **row})
    return csv_path


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "dataset"
    images = folder / "images"
    write_image(images / "p7-film.jpg", phantoms.chest_xray_frontal(seed=7))
    write_image(images / "p12-ct.png", phantoms.ct_axial(seed=12))
    rows = [
        {"patientid": "7", "filename": "p7-film.jpg", "finding": "Pneumonia/Viral/COVID-19"},
        {"patientid": "12", "filename": "p12-ct.png", "modality": "CT", "view": "Axial"},
        {"patientid": "12", "filename": "gone.png"},
    ]
    return write_dataset(folder, rows), images


def test_import_dataset_is_idempotent_and_reports_missing_images(
    store: Store, dataset: tuple[Path, Path]
) -> None:
    csv_path, images = dataset
    result = import_dataset(store, csv_path, images)
    assert result.summary()["added"] == 2
    assert [(r.filename, r.status) for r in result.problems] == [("gone.png", "missing")]
    again = import_dataset(store, csv_path, images)
    assert again.summary() | {"missing": 0} == {
        "added": 0, "updated": 0, "unchanged": 2, "missing": 0, "unreadable": 0,
        "refused": 0, "duplicate-row": 0,
    }  # fmt: skip
    with store.engine.connect() as conn:
        rows = conn.execute(select(dataset_images).order_by(dataset_images.c.id)).all()
    assert [row.filename for row in rows] == ["p7-film.jpg", "p12-ct.png", "gone.png"]
    assert rows[0].sha256 == file_sha256(images / "p7-film.jpg") and rows[0].phash
    assert rows[2].sha256 is None
    assert rows[0].row["finding"] == "Pneumonia/Viral/COVID-19" and rows[0].row["age"] is None
    assert set(rows[0].row) == set(DATASET_COLUMNS)
    assert known_image(store, file_sha256(images / "p12-ct.png"))
    assert not known_image(store, "0" * 64)
    assert len(load_index(store)) == 2


def test_import_reads_no_file_outside_the_images_folder(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "dataset"
    images = folder / "images"
    write_image(images / "p7-film.jpg", phantoms.chest_xray_frontal(seed=7))
    secret = tmp_path / "secret.png"
    write_image(secret, phantoms.ct_axial(seed=3))
    (images / "link.png").symlink_to(secret)
    rows = [
        {"patientid": "1", "filename": str(secret)},  # absolute
        {"patientid": "2", "filename": "../../secret.png"},
        {"patientid": "3", "filename": "link.png"},  # a symlink leaving the folder
        {"patientid": "4", "filename": "secret.png", "folder": ".."},
        {"patientid": "7", "filename": "p7-film.jpg"},
    ]
    result = import_dataset(store, write_dataset(folder, rows), images)

    statuses = [(row.filename, row.status) for row in result.rows]
    assert statuses[:4] == [(str(secret), "refused"), ("../../secret.png", "refused"),
                            ("link.png", "refused"), ("secret.png", "missing")]  # fmt: skip
    assert "not a plain name" in result.rows[0].reason and "symbolic link" in result.rows[2].reason
    assert statuses[4] == ("p7-film.jpg", "added")
    assert not known_image(store, file_sha256(secret))  # never read, never fingerprinted
    assert len(load_index(store)) == 1


def test_volume_beside_images_folder_is_hashed_not_fingerprinted(
    store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "dataset"
    volume = folder / "volumes" / "scan.nii.gz"
    volume.parent.mkdir(parents=True)
    volume.write_bytes(b"\x1f\x8b not really a volume")
    (folder / "images").mkdir()
    csv_path = write_dataset(
        folder, [{"patientid": "3", "filename": "scan.nii.gz", "folder": "volumes"}]
    )
    result = import_dataset(store, csv_path, folder / "images")
    assert [(r.status, r.sha256) for r in result.rows] == [("unreadable", file_sha256(volume))]
    assert known_image(store, file_sha256(volume))


def test_changed_image_is_refingerprinted(store: Store, dataset: tuple[Path, Path]) -> None:
    csv_path, images = dataset
    import_dataset(store, csv_path, images)
    write_image(images / "p7-film.jpg", phantoms.chest_xray_lateral(seed=7))
    result = import_dataset(store, csv_path, images)
    assert result.summary()["updated"] == 1
    assert known_image(store, file_sha256(images / "p7-film.jpg"))


def test_a_run_sees_fingerprints_replaced_and_added_after_its_first_lookup(
    store: Store, dataset: tuple[Path, Path], tmp_path: Path
) -> None:
    """The store's live index (read incrementally within a run) follows a dataset image
    replaced after the run's first duplicate check: the new picture's copy is flagged, a
    copy of the old one is not."""
    csv_path, images = dataset
    import_dataset(store, csv_path, images)
    old = cv2.imread(str(images / "p7-film.jpg"), cv2.IMREAD_GRAYSCALE)
    first = stage(store, write_image(tmp_path / "a" / "chart.png", phantoms.bar_chart(seed=30)))
    assert flag_duplicates(store, [first]) == []

    new = phantoms.chest_xray_lateral(seed=7)
    write_image(images / "p7-film.jpg", new)
    assert import_dataset(store, csv_path, images).summary()["updated"] == 1
    copy_of_new = stage(store, write_image(tmp_path / "b" / "lat.png", new[20:-20, 20:-20]))
    copy_of_old = stage(store, write_image(tmp_path / "c" / "film.png", old[20:-20, 20:-20]))
    found = {m.candidate_id: m.other_id for m in flag_duplicates(store, [copy_of_new])}
    assert found == {copy_of_new: "p7-film.jpg"}
    assert flag_duplicates(store, [copy_of_old]) == []


class _Rows:
    """The fingerprints side of a store, as rows (id, key, hashes) committed in any order."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, Key, bytes]] = []
        self.asked_after: list[int] = []

    def hashes(self, version: int, *, after_row: int = 0) -> Iterator[tuple[int, Key, bytes]]:
        self.asked_after.append(after_row)
        return iter([row for row in self.rows if row[0] > after_row])


def test_live_index_reads_new_rows_only_and_rows_committed_late_within_its_lookback() -> None:
    store = SimpleNamespace(fingerprints=_Rows())
    packed_hashes = Fingerprint(sha256="", hashes=[1, 2], thumbs=[]).hashes_bytes()
    store.fingerprints.rows = [(n, ("dataset", f"{n}.png"), packed_hashes) for n in range(1, 1001)]
    live = LiveIndex()
    assert len(live.snapshot(store)) == 1000
    late = 1000 - LiveIndex.LOOKBACK_ROWS + 1  # an id taken before, committed after the read
    store.fingerprints.rows += [(late, ("candidate", 5), packed_hashes)]
    store.fingerprints.rows += [(1001, ("candidate", 6), packed_hashes)]
    index = live.snapshot(store)
    assert {("candidate", 5), ("candidate", 6)} <= set(index.keys) and len(index) == 1002
    assert store.fingerprints.asked_after == [0, 1000 - LiveIndex.LOOKBACK_ROWS]
    index.add(("candidate", 7), [3])  # a snapshot is the caller's to add to
    assert ("candidate", 7) not in live.snapshot(store).keys


def test_live_index_reads_everything_again_after_a_while_so_very_late_rows_are_seen() -> None:
    store = SimpleNamespace(fingerprints=_Rows())
    packed_hashes = Fingerprint(sha256="", hashes=[1, 2], thumbs=[]).hashes_bytes()
    store.fingerprints.rows = [(n, ("dataset", f"{n}.png"), packed_hashes) for n in range(1, 1001)]
    now = [0.0]
    live = LiveIndex(clock=lambda: now[0])
    live.snapshot(store)
    very_late = (5, ("candidate", 9), packed_hashes)  # below the lookback: missed at first
    store.fingerprints.rows.append(very_late)
    store.fingerprints.rows.remove((1, ("dataset", "1.png"), packed_hashes))  # deleted
    now[0] = LiveIndex.FULL_READ_SECONDS - 1
    assert ("candidate", 9) not in live.snapshot(store).keys
    now[0] = LiveIndex.FULL_READ_SECONDS
    keys = set(live.snapshot(store).keys)
    assert ("candidate", 9) in keys and ("dataset", "1.png") not in keys
    assert store.fingerprints.asked_after[-1] == 0


def test_a_live_index_read_that_fails_part_way_leaves_the_index_as_it_was() -> None:
    packed_hashes = Fingerprint(sha256="", hashes=[1, 2], thumbs=[]).hashes_bytes()
    rows = [(n, ("dataset", f"{n}.png"), packed_hashes) for n in range(1, 2001)]

    class Failing:
        def hashes(self, version: int, *, after_row: int = 0) -> Iterator[tuple[int, Key, bytes]]:
            yield from rows[:1500]
            raise ConnectionError("server closed the connection")

    store = SimpleNamespace(fingerprints=Failing())
    live = LiveIndex()
    with pytest.raises(ConnectionError):
        live.snapshot(store)
    store.fingerprints = _Rows()
    store.fingerprints.rows = rows
    assert len(live.snapshot(store)) == 2000  # read from the start: nothing was taken as read
    assert store.fingerprints.asked_after == [0]


def test_patient_ids_continue_and_dataset_copies_are_flagged(
    store: Store, dataset: tuple[Path, Path], tmp_path: Path
) -> None:
    csv_path, images = dataset
    import_dataset(store, csv_path, images)
    with store.engine.connect() as conn:
        assert next_patientid(conn) == 13

    film = cv2.imread(str(images / "p7-film.jpg"), cv2.IMREAD_GRAYSCALE)
    crop = film[25:-25, 25:-25]
    copy = stage(store, write_image(tmp_path / "paper" / "fig1.png", crop))
    exact = stage(store, images / "p12-ct.png", "pdf-c")
    matches = {m.candidate_id: m for m in flag_duplicates(store, [copy, exact])}
    assert (matches[copy].other_kind, matches[copy].other_id) == ("dataset", "p7-film.jpg")
    assert (matches[exact].other_id, matches[exact].distance) == ("p12-ct.png", 0.0)
    with store.engine.connect() as conn:
        flags = conn.execute(select(candidates.c.flags).where(candidates.c.id == copy)).scalar()
    assert flags == [
        f"possible duplicate of dataset image p7-film.jpg (distance {matches[copy].distance})"
    ]


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_import_dataset_command(
    pipeline_env: dict[str, str],
    dataset: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    csv_path, images = dataset
    assert run_cli("import-dataset", str(csv_path), str(images), "--json") == 1
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["status"] for line in lines] == ["added", "added", "missing"]
    assert err.strip().splitlines() == [
        f"import-dataset: gone.png: image file is missing: {images / 'gone.png'}"
    ]
    assert run_cli("import-dataset", str(csv_path), str(images)) == 1
    out, _ = capsys.readouterr()
    assert out.strip() == f"{csv_path}: 3 rows (2 unchanged, 1 missing)"
    assert run_cli("import-dataset", str(csv_path), str(images / "nowhere")) == 2


def test_metadata_without_filename_column_is_refused(
    pipeline_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("patientid,name\n1,x\n")
    assert run_cli("import-dataset", str(bad), str(tmp_path)) == 2
    assert "no 'filename' column" in capsys.readouterr().err


IMAGES = SHARED_DATA / "images"


def ct_of_different_groups(count: int) -> list[Path]:
    """One CT image from each of `count` groups (different patients or papers)."""
    with open(IMAGES / "labels.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["modality"] == "ct"]
    chosen: dict[str, Path] = {}
    for row in sorted(rows, key=lambda r: r["file"]):
        chosen.setdefault(row["group"], IMAGES / "files" / row["file"])
    return list(chosen.values())[:count]


@pytest.mark.skipif(not IMAGES.exists(), reason="../shared/data is absent")
def test_real_ct_copies_match_and_other_patients_slices_do_not(
    store: Store, tmp_path: Path
) -> None:
    paths = ct_of_different_groups(8)
    ids = [stage(store, path, f"real-{path.name}") for path in paths]
    assert flag_duplicates(store, ids) == []
    original = cv2.imread(str(paths[0]), cv2.IMREAD_GRAYSCALE)
    h, w = original.shape
    copy = cv2.resize(original[h // 20 : -h // 20, w // 20 : -w // 20], (w // 2, h // 2))
    copy_id = stage(store, write_image(tmp_path / "copy.jpg", copy, quality=60), "copy")
    assert [m.other_id for m in flag_duplicates(store, [copy_id])] == [ids[0]]


def test_flag_duplicates_command(
    pipeline_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store.open(pipeline_env["PIPELINE_PATHS_STAGING_DB"])
    path = write_image(tmp_path / "x.png", phantoms.chest_xray_lateral(seed=2))
    first, second = stage(store, path, "pdf-a"), stage(store, path, "pdf-b")
    assert run_cli("flag-duplicates", "--json") == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {(line["candidate_id"], line["other_id"]) for line in lines} == {
        (first, second),
        (second, first),
    }
    assert run_cli("flag-duplicates", str(first), "999") == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[-1] == "1 candidates checked, 1 matches"
    assert err.strip() == "flag-duplicates: 999: no candidate with this id"
    assert len(store.candidate(first).flags) == 1


def test_regression_an_image_copied_into_many_sources_gets_a_few_flags(
    store: Store, tmp_path: Path
) -> None:
    from pipeline.dedupe.flagging import MAX_FLAGS

    film = phantoms.chest_xray_frontal(seed=7)
    exact = write_image(tmp_path / "film.png", film)
    ids = [stage(store, exact, f"pdf-{n}") for n in range(MAX_FLAGS + 3)]
    resized = cv2.resize(film, (300, 300), interpolation=cv2.INTER_AREA)
    ids += [
        stage(store, write_image(tmp_path / f"r{n}.png", resized), f"pdf-r{n}") for n in range(3)
    ]
    flag_duplicates(store, ids)
    for candidate_id in ids:
        flags = store.candidate(candidate_id).flags
        assert 1 <= len(flags) <= MAX_FLAGS, (candidate_id, flags)
