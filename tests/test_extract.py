"""One paper in, staged rows out, through the library and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pipeline.config import Config
from pipeline.extract import ExtractReport, extract
from pipeline.sources.pdf import LocalPdf
from pipeline.store import Store
from tests.pdfs import case_report_pdf

REPO = Path(__file__).resolve().parents[1]


def extract_pdf(pdf: Path, config: Config, store: Store, doi: str | None = None) -> ExtractReport:
    return extract(LocalPdf(pdf, doi=doi), config, store)


def test_case_report_stages_its_xray_and_ct(tmp_path: Path, config: Config, store: Store) -> None:
    pdf = case_report_pdf(tmp_path / "case report.pdf")

    report = extract_pdf(pdf, config, store)

    assert report.images == 3
    manifest = json.loads((report.out_dir / "manifest.json").read_text())
    assert len(manifest["images"]) == 3
    assert all(Path(entry["file"]).exists() for entry in manifest["images"])
    assert Path(manifest["images"][0]["file"]).name.startswith("case_report-000.")
    rows = store.candidates()
    assert len(rows) == 2 and len(report.staged) == 2
    by_modality = {row.fields["modality"]: row for row in rows}
    assert set(by_modality) == {"X-ray", "CT"}
    xray = by_modality["X-ray"]
    assert xray.status == "pending" and xray.page == 1
    assert xray.fields["clinical_notes"].startswith("Figure 1. Chest radiograph")
    assert xray.fields["age"] == "65" and xray.fields["sex"] == "M"
    assert xray.classifier_reasons
    assert by_modality["CT"].page == 2


def test_running_again_stages_nothing_new(tmp_path: Path, config: Config, store: Store) -> None:
    pdf = case_report_pdf(tmp_path / "paper.pdf")
    first = extract_pdf(pdf, config, store)
    again = extract_pdf(pdf, config, store)
    assert again.staged == [] and sorted(again.already_staged) == sorted(first.staged)
    assert len(store.candidates()) == 2
    [source] = store.sources()
    assert source.status == "ok" and source.attempts == 2


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, **env},
    )  # fmt: skip


def test_cli_extract_review_export(tmp_path: Path, pipeline_env: dict[str, str]) -> None:
    pdf = case_report_pdf(tmp_path / "paper.pdf")
    done = run_cli("extract", "--pdf", str(pdf), "--json", env=pipeline_env)
    assert done.returncode == 0, done.stderr
    staged = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(staged) == 2 and all(row["new"] for row in staged)

    listed = run_cli("staged", "--json", "--status", "pending", env=pipeline_env)
    ids = [json.loads(line)["id"] for line in listed.stdout.splitlines()]
    assert len(ids) == 2
    assert run_cli("approve", str(ids[0]), "--by", "ana", env=pipeline_env).returncode == 0
    rejected = run_cli("reject", str(ids[1]), "--reason", "duplicate", env=pipeline_env)
    assert rejected.returncode == 0
    exported = run_cli("export", env=pipeline_env)
    assert exported.returncode == 0, exported.stderr
    csv_path = Path(pipeline_env["PIPELINE_PATHS_DATASET_CSV"])
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("patientid,offset,sex,age,finding,") and len(lines) == 2
    assert len(list(Path(pipeline_env["PIPELINE_PATHS_DATASET_IMAGES"]).iterdir())) == 1

    again = run_cli("extract", "--pdf", str(pdf), "--json", env=pipeline_env)
    assert [json.loads(line)["new"] for line in again.stdout.splitlines()] == [False, False]


def test_images_already_in_the_dataset_are_not_staged_again(
    tmp_path: Path, config: Config, store: Store
) -> None:
    from pipeline.dedupe import import_dataset
    from pipeline.export import export_dataset

    pdf = case_report_pdf(tmp_path / "paper.pdf")
    first = extract_pdf(pdf, config, store)
    store.decide(first.staged, "approved", actor="ana")
    export_dataset(store, tmp_path / "dataset" / "metadata.csv", tmp_path / "dataset" / "images")

    fresh_store = Store.open(tmp_path / "other.sqlite")
    import_dataset(
        fresh_store, tmp_path / "dataset" / "metadata.csv", tmp_path / "dataset" / "images"
    )
    again = extract_pdf(pdf, config, fresh_store)

    assert again.images == 3 and again.staged == [] and fresh_store.candidates() == []


def test_the_same_radiograph_in_another_paper_is_flagged(
    tmp_path: Path, config: Config, store: Store
) -> None:
    from tests.pdfs import Figure, write_pdf
    from tests.phantoms import chest_xray_frontal

    case_report_pdf(tmp_path / "paper.pdf")
    first = extract_pdf(tmp_path / "paper.pdf", config, store)
    xray_id = next(r.id for r in store.candidates() if r.fields["modality"] == "X-ray")
    preprint = write_pdf(
        tmp_path / "preprint.pdf",
        [[Figure(chest_xray_frontal(300, seed=1), "Figure 4. Chest film on admission.", "png")]],
        title="The preprint",
    )

    second = extract_pdf(preprint, config, store)

    assert len(first.staged) == 2 and len(second.staged) == 1
    flags = store.candidate(second.staged[0]).flags
    assert any(flag.startswith(f"possible duplicate of candidate {xray_id} ") for flag in flags)


def test_a_borderline_image_can_be_staged_by_hand(
    tmp_path: Path, config: Config, store: Store, pipeline_env: dict[str, str]
) -> None:
    report = extract_pdf(case_report_pdf(tmp_path / "paper.pdf"), config, store)
    manifest = json.loads((report.out_dir / "manifest.json").read_text())
    chart = next(e for e in manifest["images"] if e["classification"]["modality"] == "other")
    assert "borderline" in chart

    done = run_cli(
        "stage-image", report.source_id, str(chart["index"]), "--modality", "xray", "--by", "ana",
        env=pipeline_env,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    [row] = [r for r in store.candidates() if r.image_index == chart["index"]]
    assert row.fields["modality"] == "X-ray" and "staged by hand by ana" in row.flags
    assert row.fields["clinical_notes"].startswith("Figure 2. Daily case counts")
    again = run_cli("stage-image", report.source_id, str(chart["index"]), "--modality", "xray",
                    env=pipeline_env)  # fmt: skip
    assert "already staged" in again.stdout
    missing = run_cli("stage-image", report.source_id, "99", "--modality", "ct", env=pipeline_env)
    assert missing.returncode == 1 and "no written image with index 99" in missing.stderr


def test_a_re_extract_never_changes_an_approved_image(
    tmp_path: Path, config: Config, store: Store, monkeypatch
) -> None:
    """New bytes for a file a row points to (another encoder, a damaged write) land beside
    it; a write that fails part-way leaves it whole; export still has what was approved."""
    import errno

    from pipeline.export import export_dataset

    pdf = case_report_pdf(tmp_path / "paper.pdf")
    first = extract_pdf(pdf, config, store)
    [jpeg] = [row.id for row in first.candidates if row.image_file.endswith(".jpg")]
    approved = store.decide([jpeg], "approved", actor="ana")[0]
    before = Path(approved.image_file).read_bytes()

    import pipeline.pdf.writer as writer

    real = writer.write_once_bytes

    def other_encoder(target, data):  # noqa: ANN001
        return real(target, data + b"\0")  # a trailing byte: other bytes, the same picture

    monkeypatch.setattr(writer, "write_once_bytes", other_encoder)
    extract_pdf(pdf, config, store)
    assert Path(approved.image_file).read_bytes() == before
    image = Path(approved.image_file)
    assert list(image.parent.glob(f"{image.stem}.*{image.suffix}"))  # the new bytes, beside it

    def full_disk(target, data):  # noqa: ANN001
        def write(temporary: Path) -> None:
            temporary.write_bytes(data[:10])
            raise OSError(errno.ENOSPC, "No space left on device")

        return writer.write_once(target, write)

    monkeypatch.setattr(writer, "write_once_bytes", full_disk)
    extract_pdf(pdf, config, store)
    assert Path(approved.image_file).read_bytes() == before
    export_dataset(store, config.path("dataset_csv"), config.path("dataset_images"))
    exported = config.path("dataset_images") / str(approved.fields["filename"])
    assert exported.read_bytes() == before


def test_running_out_of_memory_in_any_step_is_recorded_and_named(
    tmp_path: Path, config: Config, monkeypatch
) -> None:
    """The source's row says why and where; the command prints one line, no traceback."""
    pdf = case_report_pdf(tmp_path / "paper.pdf")
    env = {**os.environ, "PIPELINE_PATHS_STAGING_DB": str(tmp_path / "s.sqlite")}
    code = (
        "import sys, pipeline.extract as e\n"
        "def boom(*a, **k): raise MemoryError()\n"
        "e.classify_images = boom\n"
        "from pipeline.cli import main\n"
        f"sys.exit(main(['extract', '--pdf', {str(pdf)!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, env=env)  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "extract failed: out of memory" in done.stderr
    [source] = Store.open(tmp_path / "s.sqlite").sources()
    assert source.status == "failed" and source.failed_step == "classify"
    assert source.error == "out of memory (MemoryError) while extracting"


def test_only_images_that_can_be_staged_are_classified(
    tmp_path: Path, config: Config, store: Store
) -> None:
    from tests import phantoms
    from tests.test_pdf_raw import RawPdf, gradient

    pdf = RawPdf()
    logo = pdf.add_image(gradient(120, 60))
    icon = pdf.add_image(phantoms.chest_xray_frontal(20, seed=2))
    figure = pdf.add_image(phantoms.chest_xray_frontal(256, seed=3))
    resources = f"<</XObject<</Logo {logo} 0 R/Icon {icon} 0 R/Fig {figure} 0 R>>>>"
    header = b"q 120 0 0 60 20 520 cm /Logo Do Q "
    pdf.add_page(header + b"q 300 0 0 300 100 100 cm /Fig Do Q", resources)
    pdf.add_page(header + b"q 12 0 0 12 300 300 cm /Icon Do Q", resources)

    report = extract_pdf(pdf.save(tmp_path / "deco.pdf"), config, store)

    entries = json.loads((report.out_dir / "manifest.json").read_text())["images"]
    by_xref = {entry["xref"]: entry for entry in entries}
    assert "classification" not in by_xref[logo] and "classification" not in by_xref[icon]
    assert by_xref[figure]["classification"]["modality"] == "xray"
    assert [row.fields["modality"] for row in store.candidates()] == ["X-ray"]


def test_a_local_pdf_is_extracted_without_loading_the_http_client(
    tmp_path: Path, pipeline_env: dict[str, str]
) -> None:
    pdf = case_report_pdf(tmp_path / "paper.pdf")
    probe = (
        "import sys; from pathlib import Path; from pipeline.config import load_config; "
        "from pipeline.extract import extract; from pipeline.sources.pdf import LocalPdf; "
        "from pipeline.store import Store; config = load_config(); "
        "store = Store.open(config.path('staging_db')); "
        f"report = extract(LocalPdf(Path({str(pdf)!r})), config, store); "
        "print(len(report.staged), 'requests_cache' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, **pipeline_env},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "False"]
