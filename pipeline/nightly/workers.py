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
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.config import Config
from pipeline.errors import SourceError
from pipeline.nightly.ingest import SourceOutcome, extract_source

if TYPE_CHECKING:
    from pipeline.http import HttpClient
    from pipeline.nightly.discovery import SourceRef
    from pipeline.store import Store

BROKEN_TRIES = 3  # pools a source may see break under it before it is held the cause
WATCH_SECONDS = 0.5  # how often a worker looks for the run's process without a pidfd
# What extracting a source imports (much of it lazily), imported once by the fork server.
PRELOAD = [
    "cv2", "numpy", "pymupdf", "pipeline.nightly.workers", "pipeline.http", "pipeline.sources",
    "pipeline.pdf", "pipeline.compound.split", "pipeline.classify", "pipeline.dedupe",
    "pipeline.textmeta", "pipeline.propose",
]  # fmt: skip


class WorkerDied(SourceError):
    """The worker process extracting a source died under it, again and again."""


class ExtractionProcesses:
    """A pool of worker processes that extract sources into one store. Use as a context
    manager. A transient failure before the final attempt is raised as TransientSourceError,
    as on a thread.

    A worker that dies (the kernel's out-of-memory killer, a crash in a C library) breaks
    the whole pool and every source running on it: the pool is replaced, and each of those
    sources tried again on the new one, up to BROKEN_TRIES times; a source still there when
    the pool breaks for the last time is the likely cause, and fails with that reason.
    """

    def __init__(self, config: Config, store_location: str | Path, processes: int) -> None:
        if processes < 2:
            raise ValueError(f"worker processes: {processes} (1 means the run's own threads)")
        http = replace(config.http, requests_per_second=config.http.requests_per_second / processes)
        self.processes = processes
        self.initargs = (replace(config, http=http), str(store_location), os.getpid())
        self._lock = threading.Lock()
        self.pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # Not a fork of the run's process: it has threads (Prefect's among them), and a
        # forked copy of a lock one of them holds never comes free. Workers are forked from
        # a fresh server process that imported the extraction code once (a second each).
        if "forkserver" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
        else:
            context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(
            self.processes, mp_context=context, initializer=_start_worker, initargs=self.initargs
        )

    def submit(self, ref: SourceRef, *, final_attempt: bool = True) -> Future[SourceOutcome]:
        """The future of one source's outcome (not tried again if the pool breaks)."""
        return self.pool.submit(_extract, ref, final_attempt)

    def extract(self, ref: SourceRef, *, final_attempt: bool = True) -> SourceOutcome:
        """Extract one source on a worker and wait for its outcome."""
        for _ in range(BROKEN_TRIES):
            pool = self.pool
            try:
                return pool.submit(_extract, ref, final_attempt).result()
            except BrokenProcessPool:
                self._replace(pool)
        raise WorkerDied(
            ref.location,
            f"the worker process extracting it died {BROKEN_TRIES} times (out of memory?)",
        )

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self.pool is broken:  # the first of the sources that saw it break
                broken.shutdown(wait=False, cancel_futures=True)
                self.pool = self._new_pool()

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
