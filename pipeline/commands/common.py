"""Helpers shared by the command modules."""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pipeline.config import Config, load_config

if TYPE_CHECKING:
    from pipeline.store import Store


def add_command(
    subparsers: argparse._SubParsersAction,
    name: str,
    run: Callable[[argparse.Namespace], int],
    *,
    help: str | None = None,
    json_lines: str | None = None,
    store: bool = False,
    config: bool = False,
    **defaults: Any,
) -> argparse.ArgumentParser:
    """One subcommand: its help (the first line of `run`'s docstring unless given), its
    description (the docstring), `--json` saying what each line is, the store options
    (`--config`, `--db`) or just `--config`, and the function that runs it."""
    doc = inspect.getdoc(run) or ""
    summary = help or doc.split("\n", 1)[0].rstrip(".")
    parser = subparsers.add_parser(name, help=summary, description=doc or summary)
    if json_lines:
        parser.add_argument("--json", action="store_true", help=json_lines)
    if store:
        add_store_options(parser)
    elif config:
        parser.add_argument("--config", help="settings file (default: configs/pipeline.toml)")
    parser.set_defaults(func=run, **defaults)
    return parser


def add_store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="settings file (default: configs/pipeline.toml)")
    parser.add_argument("--db", help="staging store: a SQLite path or a database URL")


def open_config(args: argparse.Namespace) -> Config:
    from pathlib import Path

    return load_config(Path(args.config) if getattr(args, "config", None) else None)


def open_store(args: argparse.Namespace, config: Config) -> Store:
    import os

    from pipeline.store import Store

    location = getattr(args, "db", None) or os.environ.get("PIPELINE_DB")
    return Store.open(location or config.path("staging_db"))


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=str, ensure_ascii=False) + "\n")


def error(message: str) -> None:
    print(message, file=sys.stderr)
