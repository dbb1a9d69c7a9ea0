"""`discover`: list case URLs from a site's search or listing pages."""

from __future__ import annotations

import argparse
import json
import sys

from pipeline.sources.sites import SITE_NAMES


def register(subparsers: argparse._SubParsersAction) -> None:
    from pipeline.commands.common import add_command

    parser = add_command(
        subparsers, "discover", run, json_lines="one JSON object per case", config=True
    )
    parser.add_argument("--site", required=True, choices=SITE_NAMES)
    parser.add_argument("--query", required=True, help='search terms, e.g. "covid-19"')
    parser.add_argument(
        "--since",
        help="leave out cases the listing dates before this day (YYYY-MM-DD); "
        "undated cases are kept",
    )
    parser.add_argument("--max-pages", type=int, default=10, help="listing pages to read")


def run(args: argparse.Namespace) -> int:
    """List case URLs from Radiopaedia, Eurorad or SIRM search pages.

    Search a case site and print the case page URLs found, one per line (with --json one
    object per line: site, url, title, date). Follows the next-page links up to
    --max-pages, politely (robots.txt, a pause between requests).
    """
    from datetime import date
    from pathlib import Path

    from pipeline.config import load_config
    from pipeline.errors import PipelineError
    from pipeline.sources.sites.discover import discover_cases

    try:
        since = date.fromisoformat(args.since) if args.since else None
    except ValueError:
        print(f"discover: --since {args.since!r} is not a date (YYYY-MM-DD)", file=sys.stderr)
        return 2
    config = load_config(Path(args.config) if args.config else None)
    found = 0
    try:
        for case in discover_cases(
            args.site, args.query, config, since=since, max_pages=args.max_pages
        ):
            found += 1
            line = json.dumps(case, ensure_ascii=False) if args.json else str(case["url"])
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
    except PipelineError as exc:
        print(f"discover {args.site} {args.query!r}: {exc}", file=sys.stderr)
        return 1
    if not found:
        print(
            f"discover {args.site} {args.query!r}: no case links found "
            "(no results, or the listing layout changed)",
            file=sys.stderr,
        )
    return 0
