"""Prefect settings for offline use; applied before Prefect is imported."""

from __future__ import annotations

import os

OFFLINE_DEFAULTS = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    # Show the library's own log lines (each PDF route tried, each site request) in flow runs.
    "PREFECT_LOGGING_EXTRA_LOGGERS": "pipeline",
    # ...and keep them local when the library runs outside a flow (CLI, tests).
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
}


def apply_offline_defaults() -> None:
    for name, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(name, value)
