"""Sources extracted on worker processes, so a run uses every core.

Extracting a source is about a tenth of a second of CPU (panels, classification,
fingerprints), most of it holding the GIL: on threads alone a run is bound to one core long
before the hosts' limits bind. With `[run] processes` above 1 each source goes to one of
that many worker processes; the run's own process keeps the discovery, the per-host
dispatch, the retries and the report, and its threads only wait.

Each worker opens the store (SQLite in WAL mode or PostgreSQL: several writers are safe)
and one HTTP client of its own. The client's per-host request rate is divided among the
workers so that together they keep to `[http] requests_per_second`. A worker exits as soon
as the run's process ends, so a killed run leaves nothing writing after it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.config import Config
from pipeline.nightly.ingest import SourceOutcome, extract_source

if TYPE_CHECKING:
    from pipeline.http import HttpClient
    from pipeline.nightly.discovery import SourceRef
    from pipeline.store import Store

WATCH_SECONDS = 0.5  # how often a worker looks for the run's process without a pidfd
# What extracting a source imports (much of it lazily), imported once by the fork server.
PRELOAD = [
    "cv2", "numpy", "pymupdf", "pipeline.nightly.workers", "pipeline.http", "pipeline.sources",
    "pipeline.pdf", "pipeline.compound.split", "pipeline.classify", "pipeline.dedupe",
    "pipeline.textmeta", "pipeline.propose",
]  # fmt: skip


class ExtractionProcesses:
    """A pool of worker processes that extract sources into one store. Use as a context
    manager; `submit` returns a future of the source's SourceOutcome (a transient failure
    before the final attempt is raised by it as TransientSourceError, as on a thread)."""

    def __init__(self, config: Config, store_location: str | Path, processes: int) -> None:
        if processes < 2:
            raise ValueError(f"worker processes: {processes} (1 means the run's own threads)")
        http = replace(config.http, requests_per_second=config.http.requests_per_second / processes)
        # Not a fork of the run's process: it has threads (Prefect's among them), and a
        # forked copy of a lock one of them holds never comes free. Workers are forked from
        # a fresh server process that imported the extraction code once (a second each).
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        self.pool = ProcessPoolExecutor(
            processes,
            mp_context=context,
            initializer=_start_worker,
            initargs=(replace(config, http=http), str(store_location), os.getpid()),
        )

    def submit(self, ref: SourceRef, *, final_attempt: bool = True) -> Future[SourceOutcome]:
        return self.pool.submit(_extract, ref, final_attempt)

    def extract(self, ref: SourceRef, *, final_attempt: bool = True) -> SourceOutcome:
        """Extract one source on a worker and wait for its outcome."""
        return self.submit(ref, final_attempt=final_attempt).result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ExtractionProcesses:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


@contextlib.contextmanager
def worker_processes(
    config: Config, store: Store, processes: int
) -> Iterator[ExtractionProcesses | None]:
    """A pool of `processes` workers for the run, or None to extract on its own threads."""
    if processes <= 1:
        yield None
        return
    with ExtractionProcesses(config, store.location, processes) as pool:
        yield pool


class _Worker:
    config: Config
    store: Store
    client: HttpClient | None


_worker = _Worker()


def _start_worker(config: Config, store_location: str, run: int) -> None:
    _die_with(run)
    from pipeline.http import HttpClient
    from pipeline.store import Store

    _worker.config = config
    _worker.store = Store.open(store_location)
    _worker.client = HttpClient(config)


def _extract(ref: SourceRef, final_attempt: bool) -> SourceOutcome:
    return extract_source(
        ref, _worker.config, _worker.store, client=_worker.client, final_attempt=final_attempt
    )


def _die_with(run: int) -> None:
    """Exit this worker as soon as the run's process ends, however it ends: a worker forked
    by the fork server holds its own task queue open, so it would never see it close."""

    def watch() -> None:
        with contextlib.suppress(OSError, AttributeError):  # pidfd: Linux 5.3 and later
            handle = os.pidfd_open(run)
            select.select([handle], [], [])  # readable once the process has ended
            os._exit(1)
        while _running(run):
            time.sleep(WATCH_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="run-watch", daemon=True).start()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
