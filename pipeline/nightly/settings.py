"""Settings of the nightly ingestion, from configs/nightly.toml.

PIPELINE_NIGHTLY_CONFIG names another file; PIPELINE_NIGHTLY_<SECTION>_<KEY> overrides one
scalar or list value (lists comma-separated), like the pipeline's own settings.
"""

from __future__ import annotations

import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config import Config, ConfigError, checked_value, coerce

MIN_HEARTBEAT_SECONDS = 30  # Prefect's flows.heartbeat_frequency accepts no less


@dataclass(frozen=True)
class HostLimit:
    concurrency: int = 2
    rate: float = 1.0  # sources started per second


@dataclass(frozen=True)
class NightlySettings:
    cron: str = "0 2 * * *"
    timezone: str = "UTC"
    deployment: str = "nightly"
    max_sources: int = 500
    max_attempts: int = 3
    retries: int = 2
    retry_delay_seconds: float = 30.0
    max_in_flight: int = 8
    processes: int = 1  # worker processes extracting sources; 1: the run's own threads
    first_run_lookback_days: int = 7
    crossref_queries: tuple[str, ...] = ()
    crossref_type: str = "journal-article"
    crossref_rows: int = 100
    crossref_max_results: int = 1000
    watchlist: Path | None = None
    site_names: tuple[str, ...] = ()
    site_query: str = "COVID-19"
    hosts: dict[str, HostLimit] = field(default_factory=dict)
    # A backfill (pipeline/nightly/backfill.py, flows/backfill.py): days of publication per
    # discovery window, sources per flow run, and where its flow runs go.
    backfill_window_days: int = 7
    backfill_batch_size: int = 100
    backfill_pool: str = "backfill"
    backfill_deployment: str = "backfill"
    # A batch's process sends a heartbeat this often (at least 30 s: Prefect's minimum); one
    # silent for `silence_seconds` lost its worker machine and is marked crashed
    # (flows/heartbeats.py).
    backfill_heartbeat_seconds: int = 30
    backfill_silence_seconds: float = 150.0

    def host_limit(self, host: str) -> HostLimit:
        return self.hosts.get(host) or self.hosts.get("default") or HostLimit()


# Where each field lives in configs/nightly.toml: (table, key) -> field of NightlySettings.
FILE_KEYS: dict[tuple[str, str], str] = {
    ("schedule", "cron"): "cron",
    ("schedule", "timezone"): "timezone",
    ("schedule", "deployment"): "deployment",
    **{
        ("run", name): name
        for name in ("max_sources", "max_attempts", "retries", "retry_delay_seconds",
                     "max_in_flight", "processes", "first_run_lookback_days")
    },  # fmt: skip
    ("crossref", "queries"): "crossref_queries",
    ("crossref", "type"): "crossref_type",
    ("crossref", "rows"): "crossref_rows",
    ("crossref", "max_results_per_query"): "crossref_max_results",
    ("watchlist", "path"): "watchlist",
    ("sites", "names"): "site_names",
    ("sites", "query"): "site_query",
    **{("backfill", name): f"backfill_{name}"
       for name in ("window_days", "batch_size", "pool", "deployment", "heartbeat_seconds",
                    "silence_seconds")},  # fmt: skip
}


def load_nightly_settings(
    config: Config, path: Path | None = None, env: dict[str, str] | None = None
) -> NightlySettings:
    """configs/nightly.toml (or PIPELINE_NIGHTLY_CONFIG), with PIPELINE_NIGHTLY_<TABLE>_<KEY>
    overrides; unknown keys are errors, missing ones take NightlySettings' defaults."""
    env = dict(os.environ) if env is None else env
    source = path or Path(env.get("PIPELINE_NIGHTLY_CONFIG", config.root / "configs/nightly.toml"))
    try:
        with open(source, "rb") as handle:
            tables: dict[str, Any] = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read nightly settings: {exc}") from exc
    hints = typing.get_type_hints(NightlySettings)
    hints["watchlist"] = str
    values: dict[str, Any] = {}
    for table, items in tables.items():
        if table == "hosts":
            continue
        for key, value in items.items():
            name = FILE_KEYS.get((table, key))
            if name is None:
                raise ConfigError(f"{source} [{table}]: unknown setting {key}")
            values[name] = checked_value(value, hints[name], f"{source} [{table}].{key}")
    for (table, key), name in FILE_KEYS.items():
        variable = f"PIPELINE_NIGHTLY_{table}_{key}".upper()
        if variable in env:
            values[name] = coerce(env[variable], hints[name], variable)
    watchlist = values.pop("watchlist", None)
    if watchlist:
        watchlist = Path(watchlist) if Path(watchlist).is_absolute() else config.root / watchlist
    hosts = {
        name: HostLimit(int(limit.get("concurrency", 2)), float(limit.get("rate", 1.0)))
        for name, limit in tables.get("hosts", {}).items()
    }
    settings = NightlySettings(**values, watchlist=watchlist or None, hosts=hosts)
    if settings.backfill_heartbeat_seconds < MIN_HEARTBEAT_SECONDS:
        raise ConfigError(
            f"{source} [backfill]: heartbeat_seconds ({settings.backfill_heartbeat_seconds}) "
            f"must be at least {MIN_HEARTBEAT_SECONDS}: Prefect refuses a flow run a shorter one"
        )
    if settings.backfill_silence_seconds < 3 * settings.backfill_heartbeat_seconds:
        raise ConfigError(
            f"{source} [backfill]: silence_seconds ({settings.backfill_silence_seconds:g}) "
            "must cover at least three heartbeats (heartbeat_seconds)"
        )
    return settings
