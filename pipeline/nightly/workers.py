"""Sources extracted on worker processes, so a run uses every core.

Extracting a source is about a tenth of a second of CPU (panels, classification,
fingerprints), most of it holding the GIL: on threads alone a run is bound to one core long
before the hosts' limits bind. With `[run] processes` above 1 each source goes to one of
that many worker processes; the run's own process keeps the discovery, the per-host
dispatch, the retries and the report, and its threads only wait.

Each worker opens the store (SQLite in WAL mode or PostgreSQL: several writers are safe)
and one HTTP client of its own, whose per-host limits hold for the workers together: a
fetch takes one of `[http] max_concurrent_per_host` shared semaphores of its host and
starts no sooner than 1 / `[http] requests_per_second` after the host's last start by any
worker (a host is found by the hash of its name in HOST_BUCKETS: two hosts in one bucket
share its limits, stricter, never looser). A fetch's own retries are paced by its worker's
client alone. Case-site pages are not sent to workers (see `takes`). A worker exits as
soon as the run's process ends, so a killed run leaves nothing writing after it.

Workers get the run's environment as it was when the pool started. multiprocessing imports
the command's main module into each worker, unless it is a package's `__main__`: so
`python -m flows.nightly` is flows/nightly/__main__.py, and workers do not import Prefect
(about 55 MB each).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import select
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from pipeline.config import Config
from pipeline.errors import SourceError
from pipeline.extract import failure_reason
from pipeline.nightly.ingest import SourceOutcome, TransientSourceError, extract_source

if TYPE_CHECKING:
    from pipeline.http import HttpClient
    from pipeline.nightly.discovery import SourceRef
    from pipeline.sources.base import Fetching
    from pipeline.store import Store

BROKEN_TRIES = 3  # pools a source may see break under it before it is held the cause
HOST_BUCKETS = 64  # shared semaphores for the hosts' connection limits
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

    def __init__(self, config: Config, store_url: str, processes: int) -> None:
        if processes < 2:
            raise ValueError(f"worker processes: {processes} (1 means the run's own threads)")
        if store_url in ("sqlite://", "sqlite:///:memory:"):
            raise ValueError("a store in memory cannot be shared with worker processes")
        self.config = config
        self.processes = processes
        self.store_url = store_url
        self._lock = threading.Lock()
        # Not a fork of the run's process: it has threads (Prefect's among them), and a
        # forked copy of a lock one of them holds never comes free. Workers are forked from
        # a fresh server process that imported the extraction code once (a second each).
        if "forkserver" in multiprocessing.get_all_start_methods():
            self.context = multiprocessing.get_context("forkserver")
            self.context.set_forkserver_preload(PRELOAD)
        else:
            self.context = multiprocessing.get_context("spawn")
        self.pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # New semaphores with each pool: a worker killed while it held one took it along.
        limit = self.config.http.max_concurrent_per_host
        slots = [self.context.BoundedSemaphore(limit) for _ in range(HOST_BUCKETS)]
        starts = self.context.Array("d", HOST_BUCKETS)  # next start allowed, per bucket
        return ProcessPoolExecutor(
            self.processes,
            mp_context=self.context,
            initializer=_start_worker,
            initargs=(self.config, self.store_url, os.getpid(), dict(os.environ), slots, starts),
        )

    def takes(self, ref: SourceRef) -> bool:
        """Whether the source goes to a worker: not a case site's page. A site's pace, its
        robots.txt and whether it showed a captcha are kept by one site fetcher for the
        whole run, so case pages stay on the run's own threads (they are few)."""
        from pipeline.sources.sites import site_for_url

        return ref.kind == "doi" or site_for_url(ref.location, self.config) is None

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


def extract_here_or_on_worker(
    ref: SourceRef,
    config: Config,
    store: Store,
    processes: ExtractionProcesses | None,
    *,
    client: HttpClient | None = None,
    fetching: Fetching | None = None,
    final_attempt: bool = True,
) -> SourceOutcome:
    """extract_source on a worker when there are workers and they take the source, else
    on this thread (the run's store and clients)."""
    if processes is not None and processes.takes(ref):
        return processes.extract(ref, final_attempt=final_attempt)
    return extract_source(
        ref, config, store, client=client, fetching=fetching, final_attempt=final_attempt
    )


@contextlib.contextmanager
def worker_processes(
    config: Config, store: Store, processes: int
) -> Iterator[ExtractionProcesses | None]:
    """A pool of `processes` workers for the run, or None to extract on its own threads."""
    if processes <= 1:
        yield None
        return
    with ExtractionProcesses(config, store.url_with_password(), processes) as pool:
        yield pool


class _Worker:
    config: Config
    store: Store
    client: HttpClient | None
    slots: list[Any]
    starts: Any  # multiprocessing.Array of monotonic times
    held: set[int]  # buckets this worker holds (a fetch inside a fetch takes none again)
    gate: contextlib.ExitStack


_worker = _Worker()


def _start_worker(
    config: Config,
    store_url: str,
    run: int,
    environment: dict[str, str],
    slots: list[Any],
    starts: Any,
) -> None:
    _die_with(run)
    os.environ.clear()
    os.environ.update(environment)  # as the run's, not as the fork server's when it started
    import cv2

    # The pool is the parallelism. OpenCV's own threads in each worker (one per core by
    # default) hand small images back and forth: measured in bench/bench_nightly.py, the
    # workers spent 99 ms of CPU a source with them and 91 ms without, CPU the other
    # workers wait for.
    cv2.setNumThreads(1)
    from pipeline.http import HttpClient, fetch_gate
    from pipeline.store import Store

    _worker.config = config
    _worker.store = Store.open(store_url)
    _worker.client = HttpClient(config)
    _worker.slots, _worker.starts, _worker.held = slots, starts, set()
    _worker.gate = contextlib.ExitStack()
    _worker.gate.enter_context(fetch_gate(_host_slot))


@contextlib.contextmanager
def _host_slot(host: str) -> Iterator[None]:
    """One of the host's connections, shared with the other workers, and its turn to start
    at the host's rate (time.monotonic is one clock for every process)."""
    bucket = zlib.crc32(host.encode()) % len(_worker.slots)
    if bucket in _worker.held:
        yield
        return
    rate = _worker.config.http.requests_per_second
    with _worker.slots[bucket]:
        with _worker.starts.get_lock():
            now = time.monotonic()
            start = max(now, _worker.starts[bucket])
            _worker.starts[bucket] = start + (1.0 / rate if rate > 0 else 0.0)
        time.sleep(start - now)
        _worker.held.add(bucket)
        try:
            yield
        finally:
            _worker.held.discard(bucket)


def _extract(ref: SourceRef, final_attempt: bool) -> SourceOutcome:
    try:
        return extract_source(
            ref, _worker.config, _worker.store, client=_worker.client, final_attempt=final_attempt
        )
    except TransientSourceError:
        raise
    except Exception as exc:  # the run must get it back: not every error survives pickling
        raise RuntimeError(failure_reason(exc)) from None


def _die_with(run: int) -> None:
    """Exit this worker as soon as the run's process ends, however it ends: a worker forked
    by the fork server holds its own task queue open, so it would never see it close."""

    if sys.platform == "win32":  # os.kill(pid, 0) would end the run there
        return

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
