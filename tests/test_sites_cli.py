"""`python -m pipeline extract --url`, as a user runs it, against a local stand-in site."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.sites.serve import quick_server, serve_radiopaedia, serve_sirm
from tests.httpserver import LocalServer

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with quick_server() as local:
        yield local


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, **env}, timeout=120,
    )  # fmt: skip


def site_env(tmp_path: Path, pipeline_env: dict[str, str], site: str, base: str) -> dict:
    return {
        **pipeline_env,
        f"PIPELINE_{site.upper()}_URL": base,
        "PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
        "PIPELINE_SITES_MIN_INTERVAL": "0",
    }


def test_extract_url_stages_the_case(
    tmp_path: Path, pipeline_env: dict[str, str], server: LocalServer
) -> None:
    url = serve_sirm(server)
    env = site_env(tmp_path, pipeline_env, "sirm", server.base_url)
    done = run_cli("extract", "--url", url, "--json", env=env)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row["fields"]["modality"] for row in rows] == ["X-ray", "CT", "CT"]
    assert all(row["new"] and row["source_id"].startswith("url-127.0.0.1") for row in rows)
    assert rows[0]["fields"]["sex"] == "F" and rows[0]["fields"]["age"] == "72"
    assert "3 candidates staged" in done.stderr
    again = run_cli("extract", "--url", url, "--json", env=env)
    assert again.returncode == 0 and "0 candidates staged, 3 already staged" in again.stderr


def test_extract_url_failure_is_one_line_on_stderr(
    tmp_path: Path, pipeline_env: dict[str, str], server: LocalServer
) -> None:
    serve_radiopaedia(server)
    env = site_env(tmp_path, pipeline_env, "radiopaedia", server.base_url)
    missing = server.url("/cases/no-such-case")
    done = run_cli("extract", "--url", missing, env=env)
    assert done.returncode == 1 and done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert line == f"extract failed: {missing}: HTTP 404 Not Found"
