"""`python -m pipeline classify PATH... [--json]`: modality, view, confidence and reasons."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `classify` subcommand."""
    from pipeline.commands.common import add_command

    parser = add_command(subparsers, "classify", run, json_lines="JSON Lines on stdout")
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="image files")


def run(args: argparse.Namespace) -> int:
    """Classify images as chest X-ray, CT or other.

    Classify image files as chest X-ray (frontal/lateral), CT or other, with a calibrated
    confidence, flags (overlay, inverted, rotated) and the measured terms that weighed most.
    """
    from pipeline.classify import classify_file
    from pipeline.errors import ImageReadError

    failed = 0
    if not args.json:
        print(f"{'modality':8}  {'view':7}  {'conf':>4}  path / reasons")
    for path in args.paths:
        try:
            result = classify_file(path)
        except ImageReadError as err:
            print(f"classify: {err}", file=sys.stderr, flush=True)
            failed += 1
            continue
        except Exception as err:  # noqa: BLE001 - one odd file must not stop the batch
            reason = f"internal error: {type(err).__name__}: {err}".replace("\n", " ")
            print(f"classify: {path}: {reason}", file=sys.stderr, flush=True)
            failed += 1
            continue
        if args.json:
            print(json.dumps({"path": str(path), **result.to_json()}), flush=True)
        else:
            view = result.view or "-"
            flags = f"  [{', '.join(result.flags)}]" if result.flags else ""
            print(f"{result.modality:8}  {view:7}  {result.confidence:4.2f}  {path}{flags}")
            for reason in result.reasons:
                print(f"{'':25}  - {reason}")
    return 1 if failed else 0
