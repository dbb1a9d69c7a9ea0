"""Real papers: staged X-ray/CT candidates against the panels counted by eye, page by page.

Runs the real extraction path (`pipeline.extract.extract`, what `python -m pipeline extract
--pdf FILE` calls) on each PDF of ../shared/data/realpapers into a temporary extracted
folder and a temporary staging database, then scores per page against MANIFEST.tsv:

- clean recall: staged candidates on a page not flagged `overlay`, matched to the page's
  counted X-ray + CT panels (at most as many as were counted), over all counted clean panels;
- overlays: counted apart; a staged candidate left over on a page with counted overlay panels
  matches one of them (it is a radiograph; the reviewer decides), flagged or not;
- false candidates: staged beyond what the page counts (or on a page with nothing counted),
  as a share of all counted panels;
- modality right: of the matched clean candidates, how many carry the page's modality
  (X-ray and CT counted apart on the page);
- clean panels missed, by cause: staged but flagged `overlay` beyond the page's counted
  overlays, fewer pieces on the page than panels, or not staged from the pieces there
  (see score_page);
- splitter alone: on each page with counted panels, the pieces extraction leaves there (whole
  images not cut, and panels of cut ones; decorations and slivers under 64 px left out)
  against the count: recall min(pieces, counted) / counted, precision min(pieces, counted) /
  pieces. The page's other pictures (diagrams, logos) lower that precision alike before and
  after a change; it measures over- and under-cutting, not the classifier.
- speed: extraction of each paper against `pdfimages -all` on it, as a ratio of wall times
  (the fastest of --repeat runs of each, interleaved).

The papers are split once, by a hash of the file name (`splits.is_check`), into dev (about two
thirds) and check (a third, never looked at while writing rules; the classifier's labelled
figures follow the same split): figures are printed side by side; the gate in
bench/floors.toml pins both.

Run: .venv/bin/python bench/eval_realpapers.py [--only NAME] [--pages] [--show-check]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import gate  # noqa: E402
from splits import is_check  # noqa: E402

from pipeline.document import NOT_STAGED_FLAGS  # noqa: E402

DATA = Path(os.environ.get("PIPELINE_SHARED_DATA", REPO.parent / "shared" / "data"))
PAPERS = DATA / "realpapers"
KINDS = ("xray", "ct", "overlay")
MIN_PIECE = 64  # pixels: smaller leftovers are letters, icons, slivers, not panels


@dataclass
class Count:
    xray: int = 0
    ct: int = 0
    overlay: int = 0

    @property
    def clean(self) -> int:
        return self.xray + self.ct

    @property
    def total(self) -> int:
        return self.xray + self.ct + self.overlay


def _without_parentheses(text: str) -> str:
    out: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(char)
    return "".join(out)


_PAGE = re.compile(r"(?:^|;\s*)p(\d+):")
_AMOUNT = re.compile(r"\b(\d+)\s+(xray|ct|overlay)\b")


def counted_pages(per_page: str) -> dict[int, Count]:
    """MANIFEST's per_page column ("p13: 8 xray (...); p25: 1 xray and 1 overlay (...)")."""
    marks = list(_PAGE.finditer(per_page))
    pages: dict[int, Count] = {}
    for n, mark in enumerate(marks):
        stop = marks[n + 1].start() if n + 1 < len(marks) else len(per_page)
        count = pages.setdefault(int(mark.group(1)), Count())
        for amount, kind in _AMOUNT.findall(_without_parentheses(per_page[mark.end() : stop])):
            setattr(count, kind, getattr(count, kind) + int(amount))
    return pages


@dataclass
class Paper:
    file: str
    pages: dict[int, Count]
    check: bool


def load_papers(folder: Path = PAPERS) -> list[Paper]:
    papers = []
    with open(folder / "MANIFEST.tsv", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            pages = counted_pages(row["per_page"])
            for kind in KINDS:  # the per-page counts must add up to the paper's columns
                total = sum(getattr(c, kind) for c in pages.values())
                column = int(row[f"{kind}_panels"])
                if total != column:
                    raise ValueError(f"{row['file']}: per_page {kind} is {total}, not {column}")
            papers.append(Paper(row["file"], pages, is_check(row["file"])))
    return papers


@dataclass
class Score:
    clean: int = 0
    clean_found: int = 0
    overlay: int = 0
    overlay_found: int = 0
    false: int = 0
    false_confident: int = 0  # of the false ones, those not flagged low confidence
    modality_right: int = 0
    pieces_counted: int = 0
    pieces_found: int = 0
    pieces_matched: int = 0
    # why counted clean panels were missed (see score_page)
    missed_flagged: int = 0
    missed_uncut: int = 0
    missed_unstaged: int = 0
    extract_seconds: float = 0.0
    pdfimages_seconds: float = 0.0
    lines: list[str] = field(default_factory=list)

    def add(self, other: Score) -> None:
        for name in self.__dataclass_fields__:
            if name != "lines":
                setattr(self, name, getattr(self, name) + getattr(other, name))

    def figures(self) -> dict[str, float]:
        panels = self.clean + self.overlay
        return {
            "clean_recall": self.clean_found / max(1, self.clean),
            "overlay_recall": self.overlay_found / max(1, self.overlay),
            "false_rate": self.false / max(1, panels),
            "false_confident_rate": self.false_confident / max(1, panels),
            "modality_right": self.modality_right / max(1, self.clean_found),
            "splitter_recall": self.pieces_matched / max(1, self.pieces_counted),
            "splitter_precision": self.pieces_matched / max(1, self.pieces_found),
            "speed_ratio": self.extract_seconds / max(1e-9, self.pdfimages_seconds),
        }


def score_page(count: Count, staged: list[dict[str, Any]], pieces: int) -> Score:
    """One page: the staged candidates there (rows of `extract --json`) and the pieces the
    splitter left there, against the counted panels."""
    flagged = [row for row in staged if "overlay" in (row.get("flags") or [])]
    plain = [row for row in staged if row not in flagged]
    clean_found = min(len(plain), count.clean)
    spare = len(plain) - clean_found + len(flagged)
    overlay_found = min(spare, count.overlay)
    # The staged rows left over once the counted panels are matched are false; the rows most
    # likely to be them are the ones the classifier was least sure of.
    by_doubt = sorted(staged, key=lambda row: row.get("confidence") or 0.0, reverse=True)
    false_rows = by_doubt[len(staged) - (spare - overlay_found) :] if spare > overlay_found else []
    false_confident = sum("low confidence" not in (row.get("flags") or []) for row in false_rows)
    by_modality = {m: sum(row["modality"] == m for row in plain) for m in ("xray", "ct")}
    right = min(by_modality["xray"], count.xray) + min(by_modality["ct"], count.ct)
    # A missed clean panel is put down first to a staged row flagged `overlay` beyond the
    # page's counted overlays, then to the page having fewer pieces than counted panels (not
    # cut out), and the rest to the page's pieces not staged: read as `other`, or pieces that
    # are other pictures while a panel stayed uncut (the count of pieces cannot tell).
    missed = count.clean - clean_found
    flagged_spare = min(missed, max(0, len(flagged) - count.overlay))
    uncut = min(missed - flagged_spare, max(0, count.total - pieces))
    return Score(
        clean=count.clean,
        clean_found=clean_found,
        overlay=count.overlay,
        overlay_found=overlay_found,
        false=spare - overlay_found,
        false_confident=false_confident,
        modality_right=min(right, clean_found),
        pieces_counted=count.total,
        pieces_found=pieces if count.total else 0,
        pieces_matched=min(pieces, count.total),
        missed_flagged=flagged_spare,
        missed_uncut=uncut,
        missed_unstaged=missed - flagged_spare - uncut,
    )


def pieces_by_page(manifest: dict[str, Any]) -> dict[int, int]:
    """Pieces extraction leaves on each page: images not cut, and the panels of cut ones."""
    images = manifest["images"]
    cut = {image["panel_of"] for image in images if image.get("panel_of") is not None}
    out: dict[int, int] = {}
    for image in images:
        if image.get("file") is None or NOT_STAGED_FLAGS.intersection(image.get("flags") or []):
            continue
        if image["index"] in cut or min(image["width"] or 0, image["height"] or 0) < MIN_PIECE:
            continue
        out[image["page"]] = out.get(image["page"], 0) + 1
    return out


def run_paper(pdf: Path, work: Path) -> tuple[list[dict[str, Any]], dict[str, Any], float]:
    """Extract one PDF with the real path into `work`; the staged rows, the manifest and the
    wall time."""
    from pipeline.commands.extract import candidate_summary
    from pipeline.config import load_config
    from pipeline.extract import extract
    from pipeline.sources import source_from_arguments
    from pipeline.store import Store

    env = dict(os.environ, PIPELINE_PATHS_EXTRACTED=str(work / "extracted"))
    config = load_config(env=env)
    store = Store.open(work / "staging.sqlite")
    start = time.perf_counter()
    report = extract(source_from_arguments(pdf=pdf), config, store)
    seconds = time.perf_counter() - start
    store.engine.dispose()
    rows = [candidate_summary(row, True) for row in report.candidates]
    manifest = json.loads((report.out_dir / "manifest.json").read_text())
    return rows, manifest, seconds


def pdfimages_seconds(pdf: Path, work: Path) -> float:
    out = work / "pdfimages"
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    subprocess.run(["pdfimages", "-all", str(pdf), str(out / "x")], capture_output=True)
    seconds = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    return seconds


def score_paper(paper: Paper, repeat: int) -> Score:
    pdf = PAPERS / paper.file
    best_ours = best_ref = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(repeat):
            best_ref = min(best_ref, pdfimages_seconds(pdf, Path(tmp)))
            work = Path(tmp) / f"run{run}"
            rows, manifest, seconds = run_paper(pdf, work)
            best_ours = min(best_ours, seconds)
            if run + 1 < repeat:
                shutil.rmtree(work, ignore_errors=True)
    pieces = pieces_by_page(manifest)
    staged_pages: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        staged_pages.setdefault(row["page"], []).append(row)
    total = Score(extract_seconds=best_ours, pdfimages_seconds=best_ref)
    for page in sorted(set(paper.pages) | set(staged_pages)):
        count = paper.pages.get(page, Count())
        staged = staged_pages.get(page, [])
        page_score = score_page(count, staged, pieces.get(page, 0))
        total.add(page_score)
        kinds = ",".join(
            f"{row['modality']}{'+ov' if 'overlay' in (row['flags'] or []) else ''}"
            f"{'?' if 'low confidence' in (row['flags'] or []) else ''}"
            for row in staged
        )
        total.lines.append(
            f"    p{page:<3} counted x{count.xray} ct{count.ct} ov{count.overlay}"
            f"  staged {len(staged)} [{kinds}]  pieces {pieces.get(page, 0)}"
            f"  -> clean {page_score.clean_found}/{count.clean}"
            f" ov {page_score.overlay_found}/{count.overlay} false {page_score.false}"
        )
    return total


def print_paper(paper: Paper, score: Score, *, pages: bool) -> None:
    f = score.figures()
    print(
        f"  {'check' if paper.check else 'dev  '} {paper.file[:70]:<70}"
        f" clean {score.clean_found:>2}/{score.clean:<2} ov {score.overlay_found}/{score.overlay}"
        f" false {score.false:<2} modality {score.modality_right}/{score.clean_found}"
        f" pieces {score.pieces_matched}/{score.pieces_counted} (of {score.pieces_found})"
        f" speed x{f['speed_ratio']:.1f}"
    )
    if pages:
        print("\n".join(score.lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="papers whose file name contains this")
    parser.add_argument("--pages", action="store_true", help="page by page (dev papers)")
    parser.add_argument(
        "--show-check", action="store_true", help="also list check papers (not while designing)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per paper for the timing")
    args = parser.parse_args()
    if not (PAPERS / "MANIFEST.tsv").exists():
        print(f"SKIP: no real papers at {PAPERS} (set PIPELINE_SHARED_DATA)")
        return 0
    if shutil.which("pdfimages") is None:
        print("SKIP: pdfimages (poppler-utils) is not installed")
        return 0
    import logging

    logging.basicConfig(level=logging.ERROR)
    papers = [p for p in load_papers() if not args.only or args.only in p.file]
    totals = {"dev": Score(), "check": Score()}
    ten_pages = Score()
    for paper in papers:
        score = score_paper(paper, args.repeat)
        if not paper.check or args.show_check:
            print_paper(paper, score, pages=args.pages)
        totals["check" if paper.check else "dev"].add(score)
        if 5 <= _page_count(PAPERS / paper.file) <= 15:
            ten_pages.extract_seconds += score.extract_seconds
            ten_pages.pdfimages_seconds += score.pdfimages_seconds
    both = Score()
    for score in totals.values():
        both.add(score)
    names = list(Score().figures())
    print(f"\n{'':<20}{'dev':>10}{'check':>10}{'all':>10}")
    for name in names:
        values = [totals["dev"].figures()[name], totals["check"].figures()[name],
                  both.figures()[name]]  # fmt: skip
        print(f"{name:<20}" + "".join(f"{v:>10.3f}" for v in values))
    for label, s in (("dev", totals["dev"]), ("check", totals["check"])):
        print(
            f"{label}: clean {s.clean_found}/{s.clean}, overlay {s.overlay_found}/{s.overlay},"
            f" false {s.false}, modality right {s.modality_right}/{s.clean_found},"
            f" splitter {s.pieces_matched}/{s.pieces_counted} (pieces {s.pieces_found});"
            f" clean panels missed: {s.missed_flagged} staged flagged `overlay`,"
            f" {s.missed_uncut} fewer pieces than panels, {s.missed_unstaged} not staged"
            " from the pieces there"
        )
    speed_10 = ten_pages.extract_seconds / max(1e-9, ten_pages.pdfimages_seconds)
    print(f"speed, papers of 5-15 pages: extract {ten_pages.extract_seconds:.2f} s,"
          f" pdfimages -all {ten_pages.pdfimages_seconds:.2f} s, ratio {speed_10:.2f}")  # fmt: skip
    if args.only:
        return 0
    figures = {f"{label}_{k}": v for label in totals for k, v in totals[label].figures().items()}
    figures.pop("dev_speed_ratio")
    figures.pop("check_speed_ratio")
    figures["speed_ratio_10_pages"] = speed_10
    return gate.check("realpapers", figures)


def _page_count(pdf: Path) -> int:
    import pymupdf

    with pymupdf.open(pdf) as doc:
        return doc.page_count


if __name__ == "__main__":
    sys.exit(main())
