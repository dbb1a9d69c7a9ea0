"""`extract`: one source in, candidate rows staged."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.commands.common import add_command, error, open_config, open_store, print_json
from pipeline.errors import PipelineError

if TYPE_CHECKING:
    from pipeline.store import Candidate


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers, "extract", run, json_lines="one JSON object per candidate", store=True
    )
    parser.add_argument("--pdf", type=Path, help="a local PDF file")
    parser.add_argument("--doi", help="a DOI (with --pdf: attach the DOI's metadata to it)")
    parser.add_argument("--url", help="a case page URL (Radiopaedia, Eurorad, SIRM)")


def candidate_summary(row: Candidate, new: bool) -> dict[str, Any]:
    return {
        "id": row.id,
        "new": new,
        "status": row.status,
        "source_id": row.source_id,
        "image_file": row.image_file,
        "page": row.page,
        "panel": row.panel,
        "modality": row.classifier_modality,
        "view": row.classifier_view,
        "confidence": row.classifier_confidence,
        "flags": row.flags,
        "fields": {key: value for key, value in row.fields.items() if value is not None},
    }


def run(args: argparse.Namespace) -> int:
    """Extract one PDF, DOI or case page and stage its X-ray/CT images.

    Extract every embedded image, classify it, and stage each chest X-ray or CT image as a
    pending candidate row. Running it again stages nothing new.
    """
    if not (args.pdf or args.doi or args.url):
        error("extract: give --pdf FILE, --doi DOI or --url URL")
        return 2
    config = open_config(args)
    store = open_store(args, config)
    try:
        report = _extract(args, config, store)
    except PipelineError as exc:
        error(f"extract failed: {exc}")
        return 1
    new = set(report.staged)
    if args.json:
        for row in report.candidates:
            print_json(candidate_summary(row, row.id in new))
    out = error if args.json else print
    out(
        f"{report.location}: {report.images} images found in {report.out_dir} "
        f"(manifest.json lists them); {len(report.staged)} candidates staged, "
        f"{len(report.already_staged)} already staged.\n"
        "Review them with `make review`, or `python -m pipeline staged` then "
        "`python -m pipeline approve ID...`."
    )
    return 0


def _extract(args: argparse.Namespace, config: Any, store: Any) -> Any:
    from pipeline.extract import extract
    from pipeline.sources import source_from_arguments

    source = source_from_arguments(pdf=args.pdf, doi=args.doi, url=args.url)
    return extract(source, config, store)
