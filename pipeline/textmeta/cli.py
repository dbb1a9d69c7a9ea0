"""`python -m pipeline text-meta --jsonl FILE --json`: fields for each {"id", "text"} line."""

from __future__ import annotations

import argparse
import io
import json
import sys
from typing import TextIO

from .fields import FIELDS


def register(subparsers: argparse._SubParsersAction) -> None:
    from pipeline.commands.common import add_command

    parser = add_command(subparsers, "text-meta", run, json_lines="print JSON Lines on stdout")
    parser.add_argument("--jsonl", required=True, help="input JSON Lines file, or - for stdin")


def run(args: argparse.Namespace) -> int:
    """Propose age, sex, offset, survival, ... from captions and clinical text.

    Read JSON Lines {'id', 'text', ...}; print id, every field (null where the text does not
    say) and the evidence span for each non-null field.
    """
    # Bytes that are not UTF-8 are kept as surrogates, so a line holding one is named on
    # stderr and read with replacement characters (see process) instead of stopping the file.
    if args.jsonl == "-":
        raw = getattr(sys.stdin, "buffer", None)  # None: already text (a test's StringIO)
        stdin = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape") if raw else None
        return process(stdin or sys.stdin, "<stdin>", as_json=args.json)
    try:
        with open(args.jsonl, encoding="utf-8", errors="surrogateescape") as stream:
            return process(stream, args.jsonl, as_json=args.json)
    except OSError as err:
        print(f"{args.jsonl}: {err.strerror or err}", file=sys.stderr)
        return 1


def process(stream: TextIO, name: str, *, as_json: bool, out: TextIO | None = None) -> int:
    """Handle every line; a bad line is reported on stderr and the rest still processed."""
    from .extract import extract_fields  # compiles the rules: only when the command runs

    out = out or sys.stdout
    failed = False
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        bad_byte = _not_utf8(line)
        if bad_byte:
            print(f"{name}:{number}: {bad_byte}; read with replacement characters", file=sys.stderr)
            line = line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        try:
            record = _parse(line)
        except ValueError as err:
            print(f"{name}:{number}: {err}", file=sys.stderr)
            failed = True
            continue
        fields = extract_fields(record["text"]).to_json()
        row = {"id": record["id"], **fields}
        if as_json:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            stated = " ".join(f"{k}={row[k]}" for k in FIELDS if row[k] is not None)
            out.write(f"{record['id']}: {stated or '(nothing stated)'}\n")
    return 1 if failed else 0


def _not_utf8(line: str) -> str | None:
    """The first byte that is not UTF-8 (read as a surrogate escape), named; or None."""
    for column, char in enumerate(line, start=1):
        if "\udc80" <= char <= "\udcff":
            return f"not UTF-8: byte 0x{ord(char) - 0xDC00:02x} at column {column}"
    return None


def _parse(line: str) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"not JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    if "id" not in record:
        raise ValueError('missing "id"')
    if not isinstance(record.get("text"), str):
        raise ValueError('missing or non-string "text"')
    return record
