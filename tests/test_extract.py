"""One paper in, staged rows out, through the library and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pipeline.config import Config
from pipeline.extract import extract_pdf
from pipeline.store import Store
from tests.pdfs import case_report_pdf

REPO = Path(__file__).resolve().parents[1]


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
    by_modality = {row["fields"]["modality"]: row for row in rows}
    assert set(by_modality) == {"X-ray", "CT"}
    xray = by_modality["X-ray"]
    assert xray["status"] == "pending" and xray["page"] == 1
    assert xray["fields"]["clinical_notes"].startswith("Figure 1. Chest radiograph")
    assert xray["fields"]["age"] == "65" and xray["fields"]["sex"] == "M"
    assert xray["classifier_reasons"]
    assert by_modality["CT"]["page"] == 2


def test_running_again_stages_nothing_new(tmp_path: Path, config: Config, store: Store) -> None:
    pdf = case_report_pdf(tmp_path / "paper.pdf")
    first = extract_pdf(pdf, config, store)
    again = extract_pdf(pdf, config, store)
    assert again.staged == [] and sorted(again.already_staged) == sorted(first.staged)
    assert len(store.candidates()) == 2
    [source] = store.sources()
    assert source["status"] == "ok" and source["attempts"] == 2


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
