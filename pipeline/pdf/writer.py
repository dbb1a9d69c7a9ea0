"""Write image files on worker threads, with a bound on the pixels waiting to be written."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from pipeline.files import Placed, write_once, write_once_bytes
from pipeline.pdf.png import PngRows, bilevel_rows, pixel_rows, write_png

if TYPE_CHECKING:
    import numpy as np

# What a file is written from: encoded bytes, pixels or rows to write as PNG, or a function
# (run on the worker thread) that returns one of those.
Payload: TypeAlias = "bytes | np.ndarray | PngRows | Callable[[], bytes | np.ndarray | PngRows]"


class FileWriter:
    """Compress and write files on worker threads while MuPDF decodes the next image.

    MuPDF calls stay on the calling thread (a document is not thread-safe); PNG encoding,
    hashing and disk writes release the GIL, so two cores both work. Decoded pixels wait
    in memory until written: `room(cost)` holds the caller back until the bytes waiting
    plus `cost` fit in `max_pending_bytes` (one image alone always fits), so a run of large
    images is never all in memory at once.
    """

    def __init__(self, workers: int = 2, max_pending_bytes: int | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pdf-images")
        self._max_pending = max_pending_bytes
        self._pending = 0
        self._changed = threading.Condition()

    def room(self, cost: int) -> None:
        """Wait until `cost` more bytes of pixels may be held (call before decoding them)."""
        if self._max_pending is None:
            return
        with self._changed:
            self._changed.wait_for(
                lambda: self._pending == 0 or self._pending + cost <= self._max_pending  # type: ignore[operator]
            )

    def write(
        self, path: Path, payload: Payload, bilevel: bool = False, *, cost: int = 0
    ) -> Future[Placed]:
        """Write bytes, or pixels as PNG, once (see `files.write_once`: an existing file is
        never replaced); the future gives where the file is and its sha256. `cost` is the
        memory the payload holds until it is written."""
        with self._changed:
            self._pending += cost
        future = self._pool.submit(_write_file, path, payload, bilevel)
        future.add_done_callback(lambda _done: self._release(cost))
        return future

    def _release(self, cost: int) -> None:
        with self._changed:
            self._pending -= cost
            self._changed.notify_all()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def __enter__(self) -> FileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _write_file(path: Path, payload: Payload, bilevel: bool) -> Placed:
    import numpy as np

    if callable(payload):
        payload = payload()
    if isinstance(payload, np.ndarray):
        payload = bilevel_rows(payload) if bilevel else pixel_rows(payload)
    if isinstance(payload, PngRows):
        rows = payload

        def write(temporary: Path) -> None:
            with open(temporary, "wb") as stream:
                write_png(rows, stream)

        return write_once(path, write)
    return write_once_bytes(path, payload)
