"""Settings of the nightly ingestion, from configs/nightly.toml.

PIPELINE_NIGHTLY_CONFIG names another file; PIPELINE_NIGHTLY_<SECTION>_<KEY> overrides one
scalar or list value (lists comma-separated), like the pipeline's own settings.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config import Config


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
    first_run_lookback_days: int = 7
    crossref_queries: tuple[str, ...] = ()
    crossref_type: str = "journal-article"
    crossref_rows: int = 100
    crossref_max_results: int = 1000
    watchlist: Path | None = None
    site_names: tuple[str, ...] = ()
    site_query: str = "COVID-19"
    hosts: dict[str, HostLimit] = field(default_factory=dict)

    def host_limit(self, host: str) -> HostLimit:
        return self.hosts.get(host) or self.hosts.get("default") or HostLimit()


def _coerce(raw: str, like: Any) -> Any:
    if isinstance(like, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(like, int | float):
        number = float(raw)
        return int(number) if isinstance(like, int) and number.is_integer() else number
    if isinstance(like, list):
        return [item.strip() for item in raw.split(",") if item.strip()]
    return raw


def _apply_env(sections: dict[str, Any], env: dict[str, str]) -> None:
    for section, values in sections.items():
        if not isinstance(values, dict):
            continue
        for key, value in list(values.items()):
            name = f"PIPELINE_NIGHTLY_{section}_{key}".upper()
            if name in env and not isinstance(value, dict):
                values[key] = _coerce(env[name], value)


def load_nightly_settings(
    config: Config, path: Path | None = None, env: dict[str, str] | None = None
) -> NightlySettings:
    env = dict(os.environ) if env is None else env
    source = path or Path(env.get("PIPELINE_NIGHTLY_CONFIG", config.root / "configs/nightly.toml"))
    with open(source, "rb") as handle:
        sections: dict[str, Any] = tomllib.load(handle)
    _apply_env(sections, env)
    schedule, run = sections.get("schedule", {}), sections.get("run", {})
    crossref, sites = sections.get("crossref", {}), sections.get("sites", {})
    watchlist = sections.get("watchlist", {}).get("path")
    if watchlist:
        watchlist = Path(watchlist) if Path(watchlist).is_absolute() else config.root / watchlist
    defaults = NightlySettings()
    hosts = {
        name: HostLimit(int(limit.get("concurrency", 2)), float(limit.get("rate", 1.0)))
        for name, limit in sections.get("hosts", {}).items()
    }
    return NightlySettings(
        cron=str(schedule.get("cron", defaults.cron)),
        timezone=str(schedule.get("timezone", defaults.timezone)),
        deployment=str(schedule.get("deployment", defaults.deployment)),
        max_sources=int(run.get("max_sources", defaults.max_sources)),
        max_attempts=int(run.get("max_attempts", defaults.max_attempts)),
        retries=int(run.get("retries", defaults.retries)),
        retry_delay_seconds=float(run.get("retry_delay_seconds", defaults.retry_delay_seconds)),
        max_in_flight=int(run.get("max_in_flight", defaults.max_in_flight)),
        first_run_lookback_days=int(
            run.get("first_run_lookback_days", defaults.first_run_lookback_days)
        ),
        crossref_queries=tuple(crossref.get("queries", ())),
        crossref_type=str(crossref.get("type", defaults.crossref_type)),
        crossref_rows=int(crossref.get("rows", defaults.crossref_rows)),
        crossref_max_results=int(
            crossref.get("max_results_per_query", defaults.crossref_max_results)
        ),
        watchlist=watchlist or None,
        site_names=tuple(sites.get("names", ())),
        site_query=str(sites.get("query", defaults.site_query)),
        hosts=hosts,
    )
