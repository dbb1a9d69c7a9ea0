"""Where a test run of the pipeline writes: every output path in one scratch folder."""

from __future__ import annotations

from pathlib import Path


def output_env(root: Path) -> dict[str, str]:
    """The pipeline's output paths under `root`, as PIPELINE_PATHS_* settings."""
    return {
        "PIPELINE_PATHS_EXTRACTED": str(root / "extracted"),
        "PIPELINE_PATHS_METADATA": str(root / "metadata"),
        "PIPELINE_PATHS_STAGING_DB": str(root / "metadata" / "staging.sqlite"),
        "PIPELINE_PATHS_DATASET_CSV": str(root / "metadata" / "metadata.csv"),
        "PIPELINE_PATHS_DATASET_IMAGES": str(root / "metadata" / "images"),
    }
