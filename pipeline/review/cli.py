"""`python -m pipeline review`: serve the review page (waitress) and print its address."""

from __future__ import annotations

import argparse
import os
import sys

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
TOKEN_ENV = "PIPELINE_REVIEW_TOKEN"


def register(subparsers: argparse._SubParsersAction) -> None:
    from pipeline.commands.common import add_command

    parser = add_command(subparsers, "review", run_review, store=True)
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (0: any free one)")
    parser.add_argument(
        "--token",
        help=f"access token every request must carry (or ${TOKEN_ENV}); "
        "required when --host is not a loopback address",
    )
    parser.add_argument("--threads", type=int, default=4, help="server threads (default 4)")


def address(host: str, port: int, token: str | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def run_review(args: argparse.Namespace) -> int:
    """Serve the review page (approve, edit, reject staged rows; export)."""
    from waitress.server import create_server

    from pipeline.commands.common import error, open_config, open_store
    from pipeline.review.app import create_app
    from pipeline.review.security import BindError, check_bind

    token = args.token or os.environ.get(TOKEN_ENV) or None
    try:
        check_bind(args.host, token)
    except BindError as exc:
        error(f"review: {exc}")
        return 2
    config = open_config(args)
    store = open_store(args, config)
    app = create_app(store, config, token=token)
    try:
        server = create_server(app, host=args.host, port=args.port, threads=args.threads)
    except OSError as exc:
        error(f"review: cannot listen on {args.host}:{args.port}: {exc}")
        return 1
    print(f"review page: {address(args.host, server.effective_port, token)}", flush=True)
    print("press Ctrl+C to stop", file=sys.stderr, flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0
