"""Helpers shared by the command modules."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pipeline.config import Config, load_config
from pipeline.store import Store


def add_store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="settings file (default: configs/pipeline.toml)")
    parser.add_argument("--db", help="staging store: a SQLite path or a database URL")


def open_config(args: argparse.Namespace) -> Config:
    from pathlib import Path

    return load_config(Path(args.config) if getattr(args, "config", None) else None)


def open_store(args: argparse.Namespace, config: Config) -> Store:
    import os

    location = getattr(args, "db", None) or os.environ.get("PIPELINE_DB")
    return Store.open(location or config.path("staging_db"))


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=str, ensure_ascii=False) + "\n")


def error(message: str) -> None:
    print(message, file=sys.stderr)
