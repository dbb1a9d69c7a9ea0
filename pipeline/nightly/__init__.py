"""The nightly ingestion: discover new sources, extract each, report the run.

- `discovery`: sources from Crossref queries, the watchlist, case-site search, and retries;
- `ingest`: one discovered source through the extractor, its outcome recorded;
- `fanout`: dispatch with per-host concurrency and start rate;
- `run`: one run as plain functions (`flows/nightly/` wraps them in Prefect);
- `runs`, `report`, `settings`: run bookkeeping, the run report, configs/nightly.toml.
"""
