"""Start work for many sources while keeping each host's limits.

Each host gets at most `concurrency` sources in flight and at most `rate` starts per second;
different hosts proceed side by side. The caller's `submit` starts one source and returns a
future (a `concurrent.futures.Future` or a Prefect future: anything with
`add_done_callback`); `on_done` is called, in the caller's thread, as each one finishes.
"""

from __future__ import annotations

import queue
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from pipeline.nightly.discovery import SourceRef
from pipeline.nightly.settings import HostLimit


class FutureLike(Protocol):
    def add_done_callback(self, fn: Callable[[Any], Any], /) -> Any: ...


def dispatch(
    refs: Iterable[SourceRef],
    limit_for: Callable[[str], HostLimit],
    submit: Callable[[SourceRef], FutureLike],
    on_done: Callable[[SourceRef, Any], None],
    *,
    max_in_flight: int = 8,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    max_in_flight = max(1, max_in_flight)
    waiting: dict[str, deque[SourceRef]] = defaultdict(deque)
    for ref in refs:
        waiting[ref.host].append(ref)
    finished: queue.Queue[tuple[SourceRef, Any]] = queue.Queue()
    in_flight: dict[str, int] = defaultdict(int)
    next_start: dict[str, float] = defaultdict(float)
    total = 0

    def start(ref: SourceRef) -> None:
        future = submit(ref)
        future.add_done_callback(lambda done, ref=ref: finished.put((ref, done)))

    while waiting or total:
        wake_at: float | None = None
        for host in list(waiting):
            limit, pending = limit_for(host), waiting[host]
            slots = max(1, limit.concurrency)
            while pending and in_flight[host] < slots and total < max_in_flight:
                moment = clock()
                if moment < next_start[host]:
                    break
                if limit.rate > 0:
                    next_start[host] = max(next_start[host], moment) + 1.0 / limit.rate
                in_flight[host] += 1
                total += 1
                start(pending.popleft())
            if not pending:
                del waiting[host]
            elif in_flight[host] < slots and total < max_in_flight:
                wake_at = next_start[host] if wake_at is None else min(wake_at, next_start[host])
        timeout = None if wake_at is None else max(0.0, wake_at - clock())
        try:
            ref, done = finished.get(timeout=timeout)
        except queue.Empty:
            continue
        while True:
            in_flight[ref.host] -= 1
            total -= 1
            on_done(ref, done)
            try:
                ref, done = finished.get_nowait()
            except queue.Empty:
                break
