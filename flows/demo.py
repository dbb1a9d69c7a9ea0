"""`make demo`: the whole path without internet, from discovery to the review page.

A local server on 127.0.0.1 stands in for Crossref, Unpaywall and the publishers: it replays
the responses in demo/responses/ and serves PDFs generated here from synthetic chest X-ray
and CT images. The nightly flow runs against it (a Crossref query with cursor paging, a
watchlist entry, the fan-out, the report), stages candidates in a demo store under
metadata/demo/, and the review page opens on that store.

    python -m flows.demo               # run the nightly flow, then serve the review page
    python -m flows.demo --no-review   # stop after the run (prints where the report is)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from flows.settings import apply_offline_defaults

apply_offline_defaults()

REPO = Path(__file__).resolve().parents[1]
RESPONSES = REPO / "demo" / "responses"
DOIS = ("demo.covid.1", "demo.covid.2", "demo.closed.3")


def write_documents(folder: Path) -> dict[str, Path]:
    """Three small papers with a chest X-ray, a CT slice and a chart, each captioned."""
    from tests import phantoms
    from tests.pdfs import Figure, write_pdf

    folder.mkdir(parents=True, exist_ok=True)
    papers = {}
    for n, (name, age, sex) in enumerate(
        (
            ("demo-covid-1.pdf", 65, "man"),
            ("demo-covid-2.pdf", 48, "woman"),
            ("preprint.pdf", 71, "man"),
        ),
        start=1,
    ):
        figures = [
            Figure(
                phantoms.chest_xray_frontal(384, seed=n),
                f"Figure 1. Chest radiograph of a {age}-year-old {sex} with COVID-19 "
                f"pneumonia on day {n + 3} of illness.",
                "jpeg",
            ),
            Figure(
                phantoms.ct_axial(384, seed=10 + n),
                "Figure 2. Axial CT showing bilateral ground-glass opacities.",
            ),
            Figure(phantoms.bar_chart(384, seed=20 + n), "Figure 3. Daily case counts."),
        ]
        papers[name] = write_pdf(folder / name, [figures[:2], figures[2:]],
                                 title=f"Demo case report {n}")  # fmt: skip
    return papers


def start_replay_server(documents: dict[str, Path]):  # -> tests.httpserver.LocalServer
    from tests.httpserver import LocalServer, Reply

    server = LocalServer().__enter__()

    def load(name: str) -> bytes:
        text = (RESPONSES / name).read_text().replace("{base}", server.base_url)
        return json.dumps(json.loads(text)).encode()

    server.add("/works", Reply.json(load("works-query-page1.json")),
               Reply.json(load("works-query-page2.json")))  # fmt: skip
    for suffix in DOIS:
        server.add(f"/works/10.5555/{suffix}", Reply.json(load(f"work-{suffix}.json")))
        if (RESPONSES / f"unpaywall-{suffix}.json").exists():
            server.add(f"/v2/10.5555/{suffix}", Reply.json(load(f"unpaywall-{suffix}.json")))
        server.add(f"/landing/{suffix}", Reply.html("<html><head></head><body>Paper</body></html>"))
    for name, path in documents.items():
        server.add(f"/pdf/{name}", Reply.file(path))
    return server


def demo_settings(folder: Path, server_url: str) -> Path:
    watchlist = folder / "watchlist.txt"
    watchlist.write_text(f"# added by a curator\n{server_url}/pdf/preprint.pdf\n")
    toml = folder / "nightly.toml"
    toml.write_text(f"""[schedule]
cron = "0 2 * * *"
[run]
max_sources = 50
retries = 1
retry_delay_seconds = 1
max_in_flight = 4
[crossref]
queries = ["COVID-19 chest radiograph case report"]
rows = 2
[watchlist]
path = "{watchlist}"
[sites]
names = []
[hosts.default]
concurrency = 2
rate = 5.0
""")
    return toml


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flows.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--no-review", action="store_true", help="do not serve the review page")
    parser.add_argument("--port", type=int, default=8765, help="review page port")
    parser.add_argument(
        "--dir",
        type=Path,
        default=REPO / "metadata" / "demo",
        help="where the demo's store, images and report go (emptied first)",
    )
    args = parser.parse_args(argv)
    folder: Path = args.dir.resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    server = start_replay_server(write_documents(folder / "documents"))
    os.environ.update({
        "PIPELINE_CROSSREF_URL": server.base_url,
        "PIPELINE_UNPAYWALL_URL": server.base_url,
        "PIPELINE_PMC_URL": server.base_url,
        "PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
        "PIPELINE_PATHS_EXTRACTED": str(folder / "extracted"),
        "PIPELINE_PATHS_METADATA": str(folder),
        "PIPELINE_PATHS_STAGING_DB": str(folder / "staging.sqlite"),
        "PIPELINE_PATHS_DATASET_CSV": str(folder / "metadata.csv"),
        "PIPELINE_PATHS_DATASET_IMAGES": str(folder / "images"),
        "PIPELINE_NIGHTLY_CONFIG": str(demo_settings(folder, server.base_url)),
    })  # fmt: skip
    print(f"replay server for Crossref, Unpaywall and the papers: {server.base_url}")

    from flows.nightly import configured_flow
    from pipeline.config import load_config
    from pipeline.nightly.settings import load_nightly_settings

    summary = configured_flow(load_nightly_settings(load_config()))()
    print(f"\nThe nightly run found {summary['found']} sources, processed {summary['processed']} "
          f"({summary['failed']} failed, with reasons in the report) and staged "
          f"{summary['staged']} candidates.\nReport: {summary['files'][-1]}")  # fmt: skip
    if args.no_review:
        server.__exit__(None, None, None)
        return 0 if summary["staged"] else 1
    from pipeline.review.cli import register

    review_parser = argparse.ArgumentParser(prog="review")
    register(review_parser.add_subparsers())
    review_args = review_parser.parse_args(["review", "--port", str(args.port)])
    print("Open the review page below to approve, edit or reject the staged rows.")
    try:
        return review_args.func(review_args)
    finally:
        server.__exit__(None, None, None)


if __name__ == "__main__":
    sys.exit(main())
