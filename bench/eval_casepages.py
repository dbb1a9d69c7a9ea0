"""Score the case-site parsers on every labelled page (tests/fixtures/sites/labelled/).

Each page is served from 127.0.0.1 and run through the whole pipeline (fetch, parse, take
images, classify, propose, stage; or discover for a listing). Figures per split, dev (pages
written with the parsers) beside check (written after them, never tuned on):
false candidates, radiograph recall, fields right (age, sex, modality, view, finding, licence,
credit), notes limited to the case's own history and findings, listings exact, changed layouts
and bot gates named. Then every page that is not perfect, with why.

Exits 1 when a figure leaves its bounds in `bench/floors.toml` [casepages].

    .venv/bin/python bench/eval_casepages.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import gate  # noqa: E402

from tests.fixtures.sites.labelled import figures, load_specs, run_all  # noqa: E402


def main() -> int:
    started = time.monotonic()
    specs = load_specs()
    scores = run_all(specs)
    by_split = {split: [s for s in scores if s.split == split] for split in ("dev", "check")}
    results = {split: figures(items) for split, items in by_split.items()}
    names = list(results["dev"])
    print(f"{'figure':<22} {'dev':>8} {'check':>8}")
    for name in names:
        print(f"{name:<22} {results['dev'][name]:>8.3f} {results['check'][name]:>8.3f}")
    for split, items in by_split.items():
        kinds = {kind: sum(s.kind == kind for s in items) for kind in ("case", "listing",
                                                                         "layout", "blocked")}
        radiographs = sum(s.expected for s in items)
        print(f"{split}: {len(items)} pages {kinds}, {radiographs} case images labelled")
    for score in scores:
        if not score.perfect:
            print(f"\n{score.split} {score.name} ({score.site}, {score.form}):")
            for problem in score.problems:
                print(f"  - {problem}")
    print(f"\n{len(scores)} pages in {time.monotonic() - started:.1f} s")
    flat = {f"{split}_{name}": value for split, values in results.items()
            for name, value in values.items()}  # fmt: skip
    return gate.check("casepages", flat)


if __name__ == "__main__":
    sys.exit(main())
