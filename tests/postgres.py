"""A throwaway PostgreSQL cluster on 127.0.0.1 for the tests that need one (the staging store
on PostgreSQL; the backfill's workers). Started once per test session in a temporary folder
when PostgreSQL's `initdb`/`pg_ctl` and the psycopg driver are installed."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


INITDB, PG_CTL = _pg_bin("initdb"), _pg_bin("pg_ctl")
HAVE_DRIVER = importlib.util.find_spec("psycopg") is not None
needs_postgres = pytest.mark.skipif(
    not (INITDB and PG_CTL and HAVE_DRIVER),
    reason="PostgreSQL (initdb, pg_ctl) or psycopg not installed",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ClusterUnavailable(RuntimeError):
    """This machine cannot run a throwaway cluster (no postgres user to own it)."""


def _as_cluster_owner(command: list[str]) -> list[str]:
    # initdb refuses to run as root: run it as the `postgres` user the Debian package made.
    if os.geteuid() == 0:
        if not shutil.which("runuser"):
            raise ClusterUnavailable("running as root without runuser")
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[str]:
    """A PostgreSQL cluster in a temporary folder, listening on 127.0.0.1: its URL (user
    `pipeline`, database `postgres`), for the length of the block."""
    if not (INITDB and PG_CTL):
        raise ClusterUnavailable("PostgreSQL (initdb, pg_ctl) not installed")
    # Not under pytest's tmp folder: that one is private to root, and the cluster's owner
    # must be able to reach its data directory.
    base = Path(tempfile.mkdtemp(prefix="pipeline-pg-"))
    data = base / "data"
    if os.geteuid() == 0:
        try:
            shutil.chown(base, "postgres")
        except (LookupError, PermissionError) as exc:
            shutil.rmtree(base, ignore_errors=True)
            raise ClusterUnavailable("no postgres user to own a throwaway cluster") from exc
    port = _free_port()
    subprocess.run(
        _as_cluster_owner([INITDB, "-D", str(data), "-A", "trust", "-U", "pipeline", "--no-sync"]),
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-h 127.0.0.1 -p {port} -k {base} -F -c max_connections=200"
    subprocess.run(
        _as_cluster_owner([PG_CTL, "-D", str(data), "-o", options, "-l", str(base / "log"),
                           "-w", "start"]),
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql+psycopg://pipeline@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_cluster_owner([PG_CTL, "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    try:
        with throwaway_cluster() as url:
            yield url
    except ClusterUnavailable as exc:
        pytest.skip(str(exc))


def new_database(url: str, name: str) -> str:
    """A fresh, empty database on the cluster of `url`; its URL."""
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}"
