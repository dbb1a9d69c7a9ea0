"""`staged`, `approve`, `reject`, `export`: deciding on candidates and writing the dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.commands.common import add_store_options, error, open_config, open_store, print_json
from pipeline.errors import PipelineError
from pipeline.records import DATASET_COLUMNS, STATUSES


def register(subparsers: argparse._SubParsersAction) -> None:
    staged = subparsers.add_parser("staged", help="list staged candidates")
    staged.add_argument("--status", choices=STATUSES)
    staged.add_argument("--source", help="only this source id")
    staged.add_argument("--json", action="store_true", help="one JSON object per candidate")
    add_store_options(staged)
    staged.set_defaults(func=run_staged)

    approve = subparsers.add_parser("approve", help="approve candidates into the dataset")
    approve.add_argument("ids", nargs="+", type=int, metavar="ID")
    approve.add_argument("--by", help="reviewer name (default: the login name)")
    add_store_options(approve)
    approve.set_defaults(func=run_decide, status="approved", reason=None)

    reject = subparsers.add_parser("reject", help="reject candidates")
    reject.add_argument("ids", nargs="+", type=int, metavar="ID")
    reject.add_argument("--reason", required=True, help="why (kept in the audit log)")
    reject.add_argument("--by", help="reviewer name (default: the login name)")
    add_store_options(reject)
    reject.set_defaults(func=run_decide, status="rejected")

    by_hand = subparsers.add_parser(
        "stage-image",
        help="stage an extracted image the classifier left out (see `borderline` in manifest.json)",
    )
    by_hand.add_argument("source_id", help="the source id (the folder name under extracted/)")
    by_hand.add_argument("index", type=int, help="the image's index in the manifest")
    by_hand.add_argument("--modality", choices=("xray", "ct"), required=True)
    by_hand.add_argument("--by", help="reviewer name (default: the login name)")
    add_store_options(by_hand)
    by_hand.set_defaults(func=run_stage_by_hand)

    export = subparsers.add_parser(
        "export", help="write metadata/metadata.csv and metadata/images/ from approved rows"
    )
    export.add_argument("--csv", type=Path, help="output CSV (default from configs)")
    export.add_argument("--images", type=Path, help="output image folder (default from configs)")
    add_store_options(export)
    export.set_defaults(func=run_export)


def run_staged(args: argparse.Namespace) -> int:
    config = open_config(args)
    rows = open_store(args, config).candidates(status=args.status, source_id=args.source)
    for row in rows:
        if args.json:
            print_json(row)
        else:
            fields = row["fields"]
            print(
                f"{row['id']:>6}  {row['status']:<9} {fields.get('modality') or '':<6} "
                f"conf={row['classifier_confidence'] or 0:.2f}  {row['source_id']}  "
                f"p{row['page']}  {Path(row['image_file']).name}"
                + (f"  [{', '.join(row['flags'])}]" if row["flags"] else "")
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
        print(f"{row['id']}: {row['status']} by {row['decided_by']}")
    return 0


def run_stage_by_hand(args: argparse.Namespace) -> int:
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
