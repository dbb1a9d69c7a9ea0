"""Prefect flows that wire the library's steps: `extract` (one source), `nightly` (later)."""
