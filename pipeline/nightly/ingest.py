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
from typing import TYPE_CHECKING, Any

from pipeline.config import Config
from pipeline.errors import PipelineError
from pipeline.extract import extract, failure_reason
from pipeline.nightly.discovery import SourceRef
from pipeline.sources import open_source
from pipeline.sources.base import Fetching
from pipeline.store import Store, now

if TYPE_CHECKING:
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

    def __reduce__(self) -> tuple[type, tuple[SourceRef, str]]:
        # raised in a worker process (workers.py), it travels back to the run pickled
        return (type(self), (self.ref, self.reason))


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
    forms: dict[str, str] = field(default_factory=dict)  # case page field -> markup form read

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
    fetching: Fetching | None = None,
    final_attempt: bool = True,
) -> SourceOutcome:
    """Extract one source; the outcome says how it ended, and the store remembers it.

    Pass `fetching` to share its client and site fetcher across sources (left open)."""
    started, clock = now(), time.monotonic()
    outcome = SourceOutcome(ref.source_id, ref.kind, ref.location, ref.route, ref.site, "ok")
    try:
        with contextlib.nullcontext(fetching) if fetching else Fetching(
            config, client=client
        ) as shared:
            report = extract(open_source(ref.kind, ref.location), config, store, fetching=shared)
    except Exception as exc:  # noqa: BLE001 - any failure belongs to this source only
        if not final_attempt and is_transient(exc):
            raise TransientSourceError(ref, str(exc)) from exc
        outcome.status = "failed"
        outcome.error = failure_reason(exc)
        if not _recorded_since(store, ref.source_id, started):
            store.record_source(ref.source_id, ref.kind, ref.location, error=outcome.error)
        outcome.seconds = time.monotonic() - clock
        return outcome
    outcome.images = report.images
    outcome.staged = list(report.staged)
    outcome.already_staged = len(report.already_staged)
    outcome.forms = dict(report.forms)
    if report.source_id != ref.source_id:
        # Named otherwise by the extractor (a canonical address, a PDF's content): remember
        # the discovered name too, so the next run knows it is done.
        store.record_source(
            ref.source_id, ref.kind, ref.location,
            images_found=report.images, candidates_staged=len(report.staged),
        )  # fmt: skip
    outcome.seconds = time.monotonic() - clock
    return outcome
