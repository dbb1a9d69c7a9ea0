"""Extract one discovered source with the extractor for its kind, and say how it ended.

A failure is recorded against the source in the store and returned, never raised, so one
bad source cannot fail a nightly run; a transient failure (timeout, refused connection,
429, 5xx) is raised as `TransientSourceError` instead when the caller has attempts left.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.config import Config
from pipeline.errors import PipelineError, SourceError
from pipeline.files import leftovers
from pipeline.nightly.discovery import SourceRef
from pipeline.sources.ids import safe_name
from pipeline.store import Store, now

if TYPE_CHECKING:
    from pipeline.extract import ExtractReport
    from pipeline.http import HttpClient

TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}
_TRANSIENT_TEXT = re.compile(
    r"\b(429|5\d\d)\b|timed? ?out|timeout|connection (refused|reset|aborted|failed)|temporar"
    r"|interrupted",
    re.IGNORECASE,
)
_TRANSIENT_NAMES = {"Timeout", "ReadTimeout", "ConnectTimeout", "ConnectError", "ConnectionError",
                    "RemoteProtocolError", "ChunkedEncodingError", "PoolTimeout"}  # fmt: skip


class TransientSourceError(PipelineError):
    """A source failed in a way that may pass if tried again later."""

    def __init__(self, ref: SourceRef, reason: str) -> None:
        super().__init__(f"{ref.location}: {reason}")
        self.ref = ref
        self.reason = reason


@dataclass
class SourceOutcome:
    source_id: str
    kind: str
    location: str
    route: str
    site: str
    status: str  # "ok" or "failed"
    error: str | None = None
    images: int = 0
    staged: list[int] = field(default_factory=list)
    already_staged: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def is_transient(exc: BaseException) -> bool:
    """Whether trying again later may succeed: timeouts, refused connections, 429 and 5xx."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TransientSourceError | TimeoutError | ConnectionError):
            return True
        if type(current).__name__ in _TRANSIENT_NAMES:
            return True
        status = getattr(current, "status_code", None) or getattr(current, "status", None)
        response = getattr(current, "response", None)
        status = status or getattr(response, "status_code", None)
        if isinstance(status, int) and status in TRANSIENT_STATUS:
            return True
        current = current.__cause__ or current.__context__
    reason = getattr(exc, "reason", None) or str(exc)
    return bool(_TRANSIENT_TEXT.search(str(reason)))


def pdf_check(first_bytes: bytes) -> str | None:
    """Why these first bytes are not a PDF's, or None when they are."""
    if first_bytes.lstrip(b"\xef\xbb\xbf\r\n\t ").startswith(b"%PDF-"):
        return None
    return f"the link did not return a PDF (starts with {first_bytes[:8]!r})"


def download_pdf(url: str, config: Config, client: HttpClient) -> Path:
    """Fetch a PDF link into extracted/downloads/ with the shared client.

    The client writes to a temporary file and moves it into place only when the whole body
    has arrived, so a run killed mid-download leaves no PDF behind: only a hidden temporary
    file, which is removed here before trying again.
    """
    folder = config.path("extracted") / "downloads"
    name = safe_name(url, max_length=100)
    target = folder / (name if name.lower().endswith(".pdf") else f"{name}.pdf")
    if target.exists():
        return target
    for leftover in leftovers(target):
        leftover.unlink(missing_ok=True)
    return client.download(url, target, check=pdf_check)


def _run_extractor(
    ref: SourceRef, config: Config, store: Store, client: HttpClient | None
) -> ExtractReport:
    """Extract one source, sharing the run's client (one rate limit per host)."""
    if ref.kind == "doi":
        from pipeline.extract import extract_doi

        return extract_doi(ref.location, config, store, client=client)
    if ref.kind == "url":
        from pipeline.sources.casepage import extract_case_page

        return extract_case_page(ref.location, config, store, client=client)
    if ref.kind == "pdf-url":
        from pipeline.extract import extract_pdf
        from pipeline.http import HttpClient

        with contextlib.ExitStack() as stack:
            if client is None:
                client = stack.enter_context(HttpClient(config))
            pdf = download_pdf(ref.location, config, client)
        return extract_pdf(pdf, config, store)
    raise SourceError(ref.location, f"unknown source kind {ref.kind!r}")


def release_pdf_cache() -> None:
    """Empty MuPDF's store of decoded images.

    MuPDF keeps every image it decoded (extract_image, Pixmap) in its store after the
    document is closed: with PyMuPDF 1.28 a run grew by about 1.2 MB per PDF, 880 MB over
    1,000 sources. Emptying it after each source keeps a run's memory flat.
    """
    import pymupdf

    pymupdf.TOOLS.store_shrink(100)


def _recorded_since(store: Store, source_id: str, since: datetime) -> bool:
    row = store.source(source_id)
    if row is None:
        return False
    return row.last_run_at >= since


def extract_source(
    ref: SourceRef,
    config: Config,
    store: Store,
    *,
    client: HttpClient | None = None,
    final_attempt: bool = True,
) -> SourceOutcome:
    """Extract one source; the outcome says how it ended, and the store remembers it."""
    started, clock = now(), time.monotonic()
    outcome = SourceOutcome(ref.source_id, ref.kind, ref.location, ref.route, ref.site, "ok")
    try:
        try:
            report = _run_extractor(ref, config, store, client)
        finally:
            release_pdf_cache()
    except Exception as exc:  # noqa: BLE001 - any failure belongs to this source only
        if not final_attempt and is_transient(exc):
            raise TransientSourceError(ref, str(exc)) from exc
        outcome.status = "failed"
        outcome.error = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
        if not _recorded_since(store, ref.source_id, started):
            store.record_source(ref.source_id, ref.kind, ref.location, error=outcome.error)
        outcome.seconds = time.monotonic() - clock
        return outcome
    outcome.images = report.images
    outcome.staged = list(report.staged)
    outcome.already_staged = len(report.already_staged)
    if report.source_id != ref.source_id:
        # The extractor named the source by its content (a PDF's hash); remember the link too,
        # so the next run knows this URL is done.
        store.record_source(
            ref.source_id, ref.kind, ref.location,
            images_found=report.images, candidates_staged=len(report.staged),
        )  # fmt: skip
    outcome.seconds = time.monotonic() - clock
    return outcome
