"""A Prefect server of our own on 127.0.0.1, as `prefect server start` runs it in production,
on a database of a throwaway PostgreSQL cluster (tests/postgres.py). Shared by the backfill's
worker test and bench/bench_backfill.py.

Unlike the ephemeral server of `prefect_test_harness`, it runs the server's services, among
them the repossessor that takes back the concurrency slots of a lease nobody renews (a worker
killed while it held a host's slot)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.postgres import new_database

PREFECT = Path(sys.executable).parent / "prefect"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_prefect_server(
    cluster: str, home: Path, log: Path, settings: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """The server process and its API URL, once /health answers (at most 120 s)."""
    database = new_database(cluster, "prefect").replace("+psycopg", "+asyncpg")
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_API_DATABASE_CONNECTION_URL": database, **(settings or {})}  # fmt: skip
    env.pop("PREFECT_API_URL", None)
    server = subprocess.Popen(
        [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True,  # noqa: SIM115
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return server, url
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise RuntimeError(f"the Prefect server did not start (see {log})")


@contextlib.contextmanager
def prefect_server(
    cluster: str, home: Path, log: Path, settings: dict[str, str] | None = None
) -> Iterator[str]:
    """A running server's API URL; the server is stopped on leaving."""
    server, url = start_prefect_server(cluster, home, log, settings)
    try:
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def drain_prefect_workers() -> None:
    """Send what this process's Prefect events and API-log workers hold, and stop them, so
    that the next flow run starts workers bound to the API URL of that moment. (An events
    worker keeps the URL it started with: switching servers in one process without this sends
    later events to the old server, and waits on it at exit once it is gone.)"""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for service in (APILogWorker, EventsWorker):
        service.drain_all(timeout=30, at_exit=False)
