"""The report of one nightly run, as Markdown and as a self-contained HTML page.

Written to metadata/reports/<date>.md and .html: sources found / processed / failed (with
reasons) per route and site, the candidates staged with thumbnails, and how long each step
took. Every text that came from outside (titles, URLs, error messages) is escaped in HTML.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.nightly.discovery import RouteResult, Selection, SourceRef
from pipeline.nightly.ingest import SourceOutcome
from pipeline.store import Store, UnknownCandidateError

MAX_THUMBNAILS = 200
THUMBNAIL_SIZE = 160


@dataclass
class RouteCounts:
    found: int = 0
    already_done: int = 0
    gave_up: int = 0
    deferred: int = 0
    processed: int = 0
    failed: int = 0
    staged: int = 0


@dataclass
class WorkerCounts:
    """What one worker (a Prefect worker, or a thread of a local run) did in a backfill."""

    batches: int = 0
    processed: int = 0
    failed: int = 0
    staged: int = 0
    seconds: float = 0.0  # its sources' extraction time, summed


@dataclass
class RunReport:
    run_id: int
    started_at: datetime
    since: datetime
    kind: str = "nightly"  # or "backfill"
    scope: str = ""  # what was searched, when not "sources indexed since <since>"
    finished_at: datetime | None = None
    status: str = "running"
    routes: dict[str, RouteCounts] = field(default_factory=dict)
    outcomes: list[SourceOutcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # discovery routes that failed
    steps: dict[str, float] = field(default_factory=dict)  # step name -> seconds
    files: list[Path] = field(default_factory=list)  # the .md and .html written
    workers: dict[str, WorkerCounts] = field(default_factory=dict)  # backfills

    @property
    def staged_ids(self) -> list[int]:
        return [cid for outcome in self.outcomes for cid in outcome.staged]

    @property
    def failures(self) -> list[SourceOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]

    def totals(self) -> RouteCounts:
        total = RouteCounts()
        for counts in self.routes.values():
            for name in total.__dataclass_fields__:
                setattr(total, name, getattr(total, name) + getattr(counts, name))
        return total

    def summary(self) -> dict[str, Any]:
        total = self.totals()
        return {
            "run_id": self.run_id,
            "status": self.status,
            "since": self.since.isoformat(),
            "found": total.found,
            "processed": total.processed,
            "failed": total.failed,
            "staged": total.staged,
            "problems": list(self.problems),
            "steps": {name: round(seconds, 2) for name, seconds in self.steps.items()},
        }


def route_key(ref: SourceRef | SourceOutcome) -> str:
    return f"{ref.route} / {ref.site}"


def count_discovery(report: RunReport, results: list[RouteResult], selection: Selection) -> None:
    for result in results:
        report.problems.extend(result.problems)
        if result.problems and not result.refs:
            report.routes.setdefault(f"{result.route} / -", RouteCounts())
    buckets = (
        ("found", selection.todo + selection.done + selection.gave_up + selection.deferred),
        ("already_done", selection.done),
        ("gave_up", selection.gave_up),
        ("deferred", selection.deferred),
    )
    for name, refs in buckets:
        for ref in refs:
            counts = report.routes.setdefault(route_key(ref), RouteCounts())
            setattr(counts, name, getattr(counts, name) + 1)


def count_batch(report: RunReport, worker: str, outcomes: list[SourceOutcome]) -> None:
    counts = report.workers.setdefault(worker, WorkerCounts())
    counts.batches += 1
    for outcome in outcomes:
        counts.processed += 1
        counts.failed += outcome.status == "failed"
        counts.staged += len(outcome.staged)
        counts.seconds += outcome.seconds


def title(report: RunReport) -> str:
    return f"{report.kind.capitalize()} run {report.run_id}: {report.started_at:%Y-%m-%d %H:%M} UTC"


def scope(report: RunReport) -> str:
    return report.scope or f"sources indexed since {report.since:%Y-%m-%d}"


def count_outcome(report: RunReport, outcome: SourceOutcome) -> None:
    report.outcomes.append(outcome)
    counts = report.routes.setdefault(route_key(outcome), RouteCounts())
    counts.processed += 1
    counts.failed += outcome.status == "failed"
    counts.staged += len(outcome.staged)


def form_lines(report: RunReport) -> list[str]:
    """How the case pages were read: "radiopaedia header read by the 2023 form (3 cases)".

    A site whose markup moves shows here first: a field read by a newer or a fallback form."""
    counts: dict[tuple[str, str, str], int] = {}
    for outcome in report.outcomes:
        for name, form in outcome.forms.items():
            key = (outcome.site or outcome.route, name, form)
            counts[key] = counts.get(key, 0) + 1
    return [
        f"{site} {name} read by the {form} form ({count} case{'s' if count > 1 else ''})"
        for (site, name, form), count in sorted(counts.items())
    ]


# -- Markdown ---------------------------------------------------------------------------------


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: RunReport) -> str:
    total = report.totals()
    lines = [
        f"# {title(report)}",
        "",
        f"Status **{report.status}**; {scope(report)}. "
        f"Found {total.found}, processed {total.processed}, failed {total.failed}, "
        f"{total.staged} candidates staged for review.",
        "",
        "| route / site | found | already done | gave up | deferred | processed | failed "
        "| staged |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key in sorted(report.routes):
        c = report.routes[key]
        lines.append(
            f"| {_cell(key)} | {c.found} | {c.already_done} | {c.gave_up} | {c.deferred} "
            f"| {c.processed} | {c.failed} | {c.staged} |"
        )
    if report.problems:
        lines += ["", "## Discovery problems", ""]
        lines += [f"- {_cell(problem)}" for problem in report.problems]
    if report.failures:
        lines += ["", "## Failed sources", "", "| source | route / site | reason |",
                  "|---|---|---|"]  # fmt: skip
        lines += [
            f"| {_cell(o.location)} | {_cell(route_key(o))} | {_cell(o.error)} |"
            for o in report.failures
        ]
    forms = form_lines(report)
    if forms:
        lines += ["", "## Case pages read", ""] + [f"- {_cell(line)}" for line in forms]
    if report.workers:
        lines += ["", "## Sources per worker", "",
                  "| worker | batches | processed | failed | staged | seconds extracting |",
                  "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
        lines += [
            f"| {_cell(name)} | {w.batches} | {w.processed} | {w.failed} | {w.staged} "
            f"| {w.seconds:.1f} |"
            for name, w in sorted(report.workers.items())
        ]
    lines += ["", "## Steps", "", "| step | seconds |", "|---|---:|"]
    lines += [f"| {name} | {seconds:.1f} |" for name, seconds in report.steps.items()]
    staged = report.staged_ids
    if staged:
        shown = ", ".join(str(cid) for cid in staged[:50])
        more = f" and {len(staged) - 50} more" if len(staged) > 50 else ""
        lines += ["", f"New candidates: {shown}{more} (`make review`)."]
    return "\n".join(lines) + "\n"


# -- HTML -------------------------------------------------------------------------------------


def thumbnail_data_uri(path: Path, size: int = THUMBNAIL_SIZE) -> str | None:
    """A small JPEG of the image as a data: URI, so the page needs no other file."""
    from pipeline.errors import ImageReadError
    from pipeline.thumbnails import thumbnail_jpeg

    try:
        data = thumbnail_jpeg(path, size, quality=70)
    except ImageReadError:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


def _candidate_cards(report: RunReport, store: Store) -> list[str]:
    cards = []
    for cid in report.staged_ids[:MAX_THUMBNAILS]:
        try:
            row = store.candidate(cid)
        except UnknownCandidateError:
            continue
        uri = thumbnail_data_uri(Path(row.image_file))
        image = f'<img src="{uri}" alt="candidate {cid}">' if uri else "<span>(no image)</span>"
        label = " ".join(str(v) for v in (row.classifier_modality, row.classifier_view) if v)
        caption = html.escape((row.caption or "")[:200])
        cards.append(
            f"<figure>{image}<figcaption><b>#{cid}</b> {html.escape(label)}"
            f"<br><small>{html.escape(row.source_id)}</small><br>{caption}</figcaption>"
            "</figure>"
        )
    return cards


def render_html(report: RunReport, store: Store) -> str:
    esc = html.escape
    total = report.totals()
    rows = "".join(
        f"<tr><td>{esc(key)}</td>"
        + "".join(f"<td>{getattr(c, name)}</td>" for name in RouteCounts.__dataclass_fields__)
        + "</tr>"
        for key, c in sorted(report.routes.items())
    )
    headers = "".join(f"<th>{esc(name.replace('_', ' '))}</th>"
                      for name in RouteCounts.__dataclass_fields__)  # fmt: skip
    failures = "".join(
        f"<tr><td>{esc(o.location)}</td><td>{esc(route_key(o))}</td><td>{esc(o.error or '')}</td>"
        "</tr>"
        for o in report.failures
    )
    forms = "".join(f"<li>{esc(line)}</li>" for line in form_lines(report))
    forms = f"<h2>Case pages read</h2><ul>{forms}</ul>" if forms else ""
    problems = "".join(f"<li>{esc(problem)}</li>" for problem in report.problems)
    problems = f"<h2>Discovery problems</h2><ul>{problems}</ul>" if problems else ""
    if failures:
        failures = (
            "<h2>Failed sources</h2><table><tr><th>source</th><th>route / site</th>"
            f"<th>reason</th></tr>{failures}</table>"
        )
    steps = "".join(f"<tr><td>{esc(n)}</td><td>{s:.1f}</td></tr>" for n, s in report.steps.items())
    workers = "".join(
        f"<tr><td>{esc(name)}</td><td>{w.batches}</td><td>{w.processed}</td><td>{w.failed}</td>"
        f"<td>{w.staged}</td><td>{w.seconds:.1f}</td></tr>"
        for name, w in sorted(report.workers.items())
    )
    if workers:
        workers = (
            "<h2>Sources per worker</h2><table><tr><th>worker</th><th>batches</th>"
            "<th>processed</th><th>failed</th><th>staged</th><th>seconds extracting</th></tr>"
            f"{workers}</table>"
        )
    cards = _candidate_cards(report, store)
    more = len(report.staged_ids) - len(cards)
    heading = title(report)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(heading)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
td, th {{ border: 1px solid #ccc; padding: 3px 8px; text-align: left; }}
figure {{ display: inline-block; width: 180px; vertical-align: top; margin: 6px; }}
figure img {{ max-width: 160px; max-height: 160px; }}
</style></head><body>
<h1>{esc(heading)}</h1>
<p>Status <b>{esc(report.status)}</b>; {esc(scope(report))}.
Found {total.found}, processed {total.processed}, failed {total.failed},
{total.staged} candidates staged for review.</p>
<h2>Sources per route and site</h2>
<table><tr><th>route / site</th>{headers}</tr>{rows}</table>
{problems}
{failures}
{forms}
{workers}
<h2>New candidates</h2>
{"".join(cards) or "<p>None.</p>"}{f"<p>and {more} more</p>" if more > 0 else ""}
<h2>Steps</h2><table><tr><th>step</th><th>seconds</th></tr>{steps}</table>
</body></html>
"""


def report_paths(folder: Path, report: RunReport) -> tuple[Path, Path]:
    """metadata/reports/<date>.md and .html (a backfill's: backfill-<date>); later runs the
    same day add their run id."""
    prefix = "" if report.kind == "nightly" else f"{report.kind}-"
    stem = f"{prefix}{report.started_at:%Y-%m-%d}"
    if (folder / f"{stem}.md").exists():
        stem = f"{stem}-run{report.run_id}"
    return folder / f"{stem}.md", folder / f"{stem}.html"


def write_report(report: RunReport, store: Store, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    markdown_path, html_path = report_paths(folder, report)
    markdown_path.write_text(render_markdown(report), encoding="utf-8")
    html_path.write_text(render_html(report, store), encoding="utf-8")
    return markdown_path, html_path
