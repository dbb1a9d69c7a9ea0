"""`staged`, `approve`, `reject`, `export`: deciding on candidates and writing the dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.commands.common import add_command, error, open_config, open_store, print_json
from pipeline.errors import PipelineError
from pipeline.records import DATASET_COLUMNS, STATUSES


def register(subparsers: argparse._SubParsersAction) -> None:
    staged = add_command(
        subparsers, "staged", run_staged, json_lines="one JSON object per candidate", store=True
    )
    staged.add_argument("--status", choices=STATUSES)
    staged.add_argument("--source", help="only this source id")

    approve = add_command(
        subparsers, "approve", run_decide, help="Approve candidates into the dataset",
        store=True, status="approved", reason=None,
    )  # fmt: skip
    approve.add_argument("ids", nargs="+", type=int, metavar="ID")
    approve.add_argument("--by", help="reviewer name (default: the login name)")

    reject = add_command(
        subparsers, "reject", run_decide, help="Reject candidates", store=True, status="rejected"
    )
    reject.add_argument("ids", nargs="+", type=int, metavar="ID")
    reject.add_argument("--reason", required=True, help="why (kept in the audit log)")
    reject.add_argument("--by", help="reviewer name (default: the login name)")

    by_hand = add_command(subparsers, "stage-image", run_stage_by_hand, store=True)
    by_hand.add_argument("source_id", help="the source id (the folder name under extracted/)")
    by_hand.add_argument("index", type=int, help="the image's index in the manifest")
    by_hand.add_argument("--modality", choices=("xray", "ct"), required=True)
    by_hand.add_argument("--by", help="reviewer name (default: the login name)")

    export = add_command(subparsers, "export", run_export, store=True)
    export.add_argument("--csv", type=Path, help="output CSV (default from configs)")
    export.add_argument("--images", type=Path, help="output image folder (default from configs)")


def run_staged(args: argparse.Namespace) -> int:
    """List staged candidates."""
    config = open_config(args)
    rows = open_store(args, config).candidates(status=args.status, source_id=args.source)
    for row in rows:
        if args.json:
            print_json(row.to_json())
        else:
            print(
                f"{row.id:>6}  {row.status:<9} {row.fields.get('modality') or '':<6} "
                f"conf={row.classifier_confidence or 0:.2f}  {row.source_id}  "
                f"p{row.page}  {Path(row.image_file).name}"
                + (f"  [{', '.join(row.flags)}]" if row.flags else "")
            )
    return 0


def run_decide(args: argparse.Namespace) -> int:
    config = open_config(args)
    store = open_store(args, config)
    try:
        rows = store.decide(args.ids, args.status, actor=args.by, reason=args.reason)
    except PipelineError as exc:
        error(f"{args.command}: {exc}")
        return 1
    for row in rows:
        print(f"{row.id}: {row.status} by {row.decided_by}")
    return 0


def run_stage_by_hand(args: argparse.Namespace) -> int:
    """Stage an extracted image the classifier left out (see `borderline` in manifest.json)."""
    from pipeline.extract import stage_by_hand
    from pipeline.store import current_user

    config = open_config(args)
    store = open_store(args, config)
    actor = args.by or current_user()
    try:
        result = stage_by_hand(
            config, store, args.source_id, args.index, args.modality, actor=actor
        )
    except PipelineError as exc:
        error(f"stage-image: {exc}")
        return 1
    for candidate_id in result.staged:
        print(f"{candidate_id}: staged (pending)")
    for candidate_id in result.existing:
        print(f"{candidate_id}: already staged")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Write metadata/metadata.csv and metadata/images/ from approved rows."""
    from pipeline.export import export_dataset

    config = open_config(args)
    store = open_store(args, config)
    csv_path = args.csv or config.path("dataset_csv")
    images_dir = args.images or config.path("dataset_images")
    try:
        result = export_dataset(store, csv_path, images_dir)
    except PipelineError as exc:
        error(str(exc))
        return 1
    print(
        f"wrote {result.rows} rows ({len(DATASET_COLUMNS)} columns) to {result.csv_path}; "
        f"copied {result.images_copied} images to {images_dir}"
    )
    return 0
