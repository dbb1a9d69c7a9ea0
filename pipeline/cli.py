"""`python -m pipeline ...`: the library's commands.

Each command module exposes `register(subparsers)`; heavy libraries are imported
only when a command runs, so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

COMMAND_MODULES = (
    "pipeline.commands.extract",
    "pipeline.pdf.cli",
    "pipeline.classify.cli",
    "pipeline.textmeta.cli",
    "pipeline.sources.sites.cli",
    "pipeline.commands.review",
    "pipeline.review.cli",
    "pipeline.dedupe.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline",
        description="Extract chest X-ray and CT images from papers and case pages, "
        "propose metadata rows, and stage them for review.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001  (a named one-line error, never a traceback)
        from pipeline.extract import failure_reason

        print(f"{args.command} failed: {failure_reason(exc)}", file=sys.stderr)
        if os.environ.get("PIPELINE_TRACEBACK"):
            traceback.print_exc()
        return 1
