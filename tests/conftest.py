from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.config import Config, load_config
from pipeline.store import Store
from tests.httpserver import LocalServer
from tests.paths import output_env
from tests.postgres import postgres_url  # noqa: F401 - a session fixture: one cluster per run

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("PIPELINE_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def pipeline_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point every output path of the pipeline into a temporary folder."""
    env = output_env(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def config(pipeline_env: dict[str, str]) -> Config:
    return load_config()


@pytest.fixture
def store(config: Config) -> Store:
    return Store.open(config.path("staging_db"))


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One temporary Prefect server for every flow test of the run (it takes ~8 s to start)."""
    from flows.settings import apply_offline_defaults

    apply_offline_defaults()
    from prefect.testing.utilities import prefect_test_harness

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREFECT_HOME", str(tmp_path_factory.mktemp("prefect-home")))
        with prefect_test_harness(server_startup_timeout=90):
            yield


@pytest.fixture(scope="module")
def module_server() -> Iterator[LocalServer]:
    """One local HTTP server per test module: shutting a server down takes 0.5 s."""
    with LocalServer() as local:
        yield local


@pytest.fixture
def server(module_server: LocalServer) -> LocalServer:
    """The module's server with no routes and no logged requests (modules may override)."""
    module_server.routes.clear()
    module_server.requests.clear()
    return module_server
