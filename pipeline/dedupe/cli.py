"""`import-dataset METADATA.csv IMAGES_DIR` loads an existing dataset; `flag-duplicates [ID...]`
flags staged candidates that repeat another image (for candidates staged before an import).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.commands.common import add_command, error, open_config, open_store, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `import-dataset` subcommand."""
    parser = add_command(
        subparsers, "import-dataset", run, json_lines="one JSON object per row", store=True
    )
    parser.add_argument("metadata_csv", type=Path, metavar="METADATA.csv")
    parser.add_argument("images_dir", type=Path, metavar="IMAGES_DIR")

    flag = add_command(
        subparsers, "flag-duplicates", run_flag, json_lines="one JSON object per match", store=True
    )
    flag.add_argument("ids", nargs="*", type=int, metavar="ID")


def run_flag(args: argparse.Namespace) -> int:
    """Flag staged candidates that repeat another candidate or a dataset image.

    Fingerprint the given candidates (default: every pending one) and flag those that are
    copies of another candidate or of an imported dataset image.
    """
    from dataclasses import asdict

    from pipeline.dedupe.flagging import flag_duplicates

    config = open_config(args)
    store = open_store(args, config)
    ids = args.ids or [row.id for row in store.candidates(status="pending")]
    known = {row.id for row in store.candidates()}
    unknown = [i for i in ids if i not in known]
    for candidate_id in unknown:
        error(f"flag-duplicates: {candidate_id}: no candidate with this id")
    matches = flag_duplicates(store, [i for i in ids if i in known])
    for match in matches:
        if args.json:
            print_json(asdict(match))
        else:
            print(f"{match.candidate_id}: {match.flag}")
    if not args.json:
        print(f"{len(ids) - len(unknown)} candidates checked, {len(matches)} matches")
    return 1 if unknown else 0


def run(args: argparse.Namespace) -> int:
    """Load an existing dataset so its images are never proposed again.

    Import the rows of a dataset in the collection's layout (metadata.csv and its images
    folder) with the exact and perceptual hashes of each image. Importing again updates
    changed rows. New patient ids continue after the dataset's.
    """
    from pipeline.dedupe.dataset_import import import_dataset
    from pipeline.errors import PipelineError

    if not args.images_dir.is_dir():
        error(f"import-dataset: {args.images_dir}: not a folder")
        return 2
    config = open_config(args)
    store = open_store(args, config)
    try:
        result = import_dataset(store, args.metadata_csv, args.images_dir)
    except PipelineError as exc:
        error(f"import-dataset: {exc}")
        return 2
    for outcome in result.problems:
        error(f"import-dataset: {outcome.filename or args.metadata_csv}: {outcome.reason}")
    if args.json:
        for outcome in result.rows:
            print_json(outcome.to_json())
    else:
        counts = ", ".join(f"{n} {status}" for status, n in result.summary().items() if n)
        print(f"{args.metadata_csv}: {len(result.rows)} rows ({counts or 'none'})")
    return 1 if result.problems else 0
