"""The Prefect `extract` flow: one source, each library step a task.

Run with `make extract PDF=... [DOI=...]`, `make extract DOI=...` or
`python -m flows.extract --pdf FILE` / `--doi DOI`.
Without PREFECT_API_URL, Prefect starts a temporary local server for the run.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from flows.settings import apply_offline_defaults

apply_offline_defaults()

from prefect import flow, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402

from pipeline.config import load_config  # noqa: E402
from pipeline.errors import PipelineError  # noqa: E402
from pipeline.extract import extract  # noqa: E402
from pipeline.sources import source_from_arguments  # noqa: E402
from pipeline.store import Store  # noqa: E402


def run_as_task(name: str, step: Any, *args: Any, **kwargs: Any) -> Any:
    # Steps take live objects (the store, documents): never cache or persist them.
    return task(step, name=name, cache_policy=NO_CACHE, persist_result=False)(*args, **kwargs)


@flow(name="extract", log_prints=True)
def extract_flow(
    pdf: str | None = None,
    doi: str | None = None,
    db: str | None = None,
    url: str | None = None,
) -> dict[str, Any]:
    """Extract one PDF, a DOI's open-access PDF or a case page; stage its X-ray/CT candidates."""
    config = load_config()
    store = Store.open(db or config.path("staging_db"))
    source = source_from_arguments(pdf=pdf, doi=doi, url=url)
    report = extract(source, config, store, run_step=run_as_task)
    summary = {
        "source_id": report.source_id,
        "location": report.location,
        "images": report.images,
        "out_dir": str(report.out_dir),
        "staged": report.staged,
        "already_staged": report.already_staged,
    }
    print(
        f"{report.location}: {report.images} images in {report.out_dir}; "
        f"{len(report.staged)} candidates staged, {len(report.already_staged)} already staged"
    )
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.extract")
    parser.add_argument("--pdf")
    parser.add_argument("--doi")
    parser.add_argument("--db")
    parser.add_argument("--url", help="a case page (Radiopaedia, Eurorad, SIRM)")
    args = parser.parse_args(argv)
    try:
        summary = extract_flow(pdf=args.pdf, doi=args.doi, db=args.db, url=args.url)
    except PipelineError as exc:
        print(f"extract failed: {exc}", file=sys.stderr)
        return 1
    print(
        f"\nExtracted {summary['images']} images into {summary['out_dir']} (see manifest.json).\n"
        f"Staged {len(summary['staged'])} new candidates "
        f"({len(summary['already_staged'])} were already staged).\n"
        "Review: `make review`, or `python -m pipeline staged` and "
        "`python -m pipeline approve ID...`; then `python -m pipeline export`."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
