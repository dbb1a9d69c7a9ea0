"""Settings: typed sections, defaults in one place, environment overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import DEFAULT_CONFIG, Config, ConfigError, load_config


def test_the_shipped_file_loads_and_agrees_with_the_defaults() -> None:
    config = load_config(DEFAULT_CONFIG, env={})
    assert config.http.max_concurrent_per_host == Config().http.max_concurrent_per_host == 3
    assert config.classify.low_confidence == 0.6
    assert config.path("staging_db") == config.root / "metadata" / "staging.sqlite"


def test_a_missing_key_takes_its_default(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.toml"
    path.write_text('[http]\nretries = 1\n')
    config = load_config(path, env={})
    assert config.http.retries == 1
    assert config.http.read_timeout == 60.0 and config.extraction.max_megapixels == 150.0


def test_environment_overrides_are_typed(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.toml"
    path.write_text("")
    env = {
        "PIPELINE_HTTP_RETRIES": "2",
        "PIPELINE_HTTP_CACHE": "false",
        "PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS": "127.0.0.1, localhost",
        "PIPELINE_SITES_MIN_INTERVAL": "0.25",
        "PIPELINE_CROSSREF_URL": "http://127.0.0.1:9/",
    }
    config = load_config(path, env=env)
    assert config.http.retries == 2 and config.http.cache is False
    assert config.http.allowed_private_hosts == ("127.0.0.1", "localhost")
    assert config.sites.min_interval == 0.25
    assert config.url("crossref") == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[http]\nretrys = 1\n", {}, r"\[http\]: unknown setting\(s\) retrys"),
        ("[htpp]\n", {}, r"unknown section\(s\) htpp"),
        ('[http]\nretries = "four"\n', {}, r"http\]\.retries: expected int"),
        ("[http]\nallowed_private_hosts = \"x\"\n", {}, "expected a list"),
        ("", {"PIPELINE_HTTP_RETRIES": "2.5"}, "PIPELINE_HTTP_RETRIES: '2.5' is not a whole"),
        ("[http\n", {}, "cannot read settings"),
    ],
)
def test_bad_settings_are_named(tmp_path: Path, text: str, env: dict, message: str) -> None:
    path = tmp_path / "pipeline.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path, env=env)


def test_with_section_changes_one_value_only() -> None:
    config = Config().with_section("classify", low_confidence=0.7)
    assert config.classify.low_confidence == 0.7 and config.http == Config().http
