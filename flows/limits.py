"""Per-host limits shared by every worker: one Prefect global concurrency limit per host.

A backfill's sources are extracted by flow runs on several machines, and each host must
still see at most `concurrency` requests at once and about `rate` request starts per second
from all of them together (configs/nightly.toml [hosts]). One global concurrency limit per
host, `host:<host[:port]>` with `concurrency` slots, holds both:

- a fetch runs while its process holds one of the host's slots (pipeline.http.fetch_gate
  wraps every fetch of every client in the process);
- a slot starts at most one fetch per `concurrency / rate` seconds, and is released only
  after that time: with `concurrency` slots, the host sees at most `concurrency` starts in
  any span of `concurrency / rate` seconds, `rate` a second on average;
- a process keeps a slot while its threads have more fetches for that host and hands it to
  the next one (no server call); a slot no thread of its own waits for goes back to the
  server as soon as it may start again (a fast host's after `LINGER` seconds idle, which
  saves server calls), and any slot after about `TENURE` seconds, so that the other
  workers get their turn; a process that wants a slot asks every quarter of a slot's turn.

Measured against a Prefect 3.8 server, one host at 3 at once and 4 starts a second, two
processes of 4 threads, 0.25 s per request: Prefect's own `concurrency()` plus `rate_limit()`
on a limit with slot decay started 0.96 requests a second (each refused attempt rewrites
the limit's row, and the decay is counted from the last write, so polling stalls it);
`concurrency()` alone, held `concurrency / rate` seconds, 2.0 a second, at about 85 ms of
client CPU per request. Holding and reusing slots here: see bench/bench_backfill.py.

Leases: every slot is a lease of LEASE_SECONDS, renewed while it is held; a worker killed
while holding slots gives them back when its leases run out (the server's repossessor).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from pipeline.nightly.settings import HostLimit, NightlySettings

log = logging.getLogger(__name__)

LEASE_SECONDS = 60.0  # the shortest lease the server grants
LINGER = 1.0  # seconds an idle slot of a fast host is kept for the next fetch
TENURE = 15.0  # seconds a process keeps one slot before handing it back to the server
MAX_POLL = 0.5  # seconds at most between two asks for a slot the server refused
WORTH_ASKING = 0.1  # a slot of ours free within this many seconds is not worth a server call
KEEPER_INTERVAL = 0.05
RENEW_RETRY = 1.0  # seconds between two tries to renew a lease that failed to renew
LOST_AFTER = 0.75  # a lease not renewed for this share of its length is taken as lost
LEASE_UNKNOWN = (404, 410)  # the server's answers to a renewal of a lease it no longer has


def limit_name(host: str) -> str:
    return f"host:{host}"


def politeness(settings: NightlySettings) -> dict[str, list[float]]:
    """The [hosts] limits as a flow parameter: host -> [concurrency, rate]; "default" too."""
    hosts = {name: [limit.concurrency, limit.rate] for name, limit in settings.hosts.items()}
    default = settings.host_limit("default")
    hosts.setdefault("default", [default.concurrency, default.rate])
    return hosts


def host_limits(parameter: dict[str, list[float]]) -> Callable[[str], HostLimit]:
    limits = {name: HostLimit(int(value[0]), float(value[1])) for name, value in parameter.items()}
    default = limits.get("default") or HostLimit()
    return lambda host: limits.get(host, default)


def ensure_limits(client: Any, settings: NightlySettings) -> list[str]:
    """Create or update one global concurrency limit per configured host (not `default`:
    other hosts get theirs when a worker first fetches from them)."""
    names = []
    for host, limit in settings.hosts.items():
        if host == "default":
            continue
        client.upsert_global_concurrency_limit_by_name(limit_name(host), max(1, limit.concurrency))
        names.append(limit_name(host))
    return names


@dataclass
class _Slot:
    lease_id: UUID
    acquired_at: float
    renewed_at: float
    # Held at most this long: TENURE, spread so that slots taken together are not handed
    # back together (the host would idle while another process picks them all up).
    tenure: float = TENURE
    next_start: float = 0.0  # this slot may start its next fetch from then on
    idle_since: float | None = None
    renew_after: float = 0.0  # after a failed renewal: not asked again before then
    lost: bool = False  # its lease may have run out: the server may have given it to another


@dataclass
class _Host:
    name: str
    hold: float  # seconds between two starts on one slot: concurrency / rate
    next_ask: float = 0.0  # not before then, after the server refused a slot
    cond: threading.Condition = field(default_factory=threading.Condition)
    held: list[_Slot] = field(default_factory=list)
    idle: list[_Slot] = field(default_factory=list)
    retiring: list[_Slot] = field(default_factory=list)  # held past TENURE, released when due
    acquiring: bool = False


@dataclass
class SlotStats:
    acquired: int = 0  # slots granted by the server
    refused: int = 0  # asks the server refused (the host was at its limit)
    released: int = 0
    reused: int = 0  # fetches that took a slot this process already held
    waited: float = 0.0  # seconds fetches spent waiting for a slot or its next start


class SharedHostSlots:
    """This process's slots of the hosts' global concurrency limits: a fetch gate for
    `pipeline.http.fetch_gate`. Use as a context manager (it releases everything it holds)."""

    def __init__(
        self,
        client: Any,
        limits: Callable[[str], HostLimit],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client  # a SyncPrefectClient, opened
        self.limits = limits
        self.clock, self.sleep = clock, sleep
        self.stats = SlotStats()
        self._hosts: dict[str, _Host] = {}
        self._creating: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._keeper = threading.Thread(target=self._keep, name="host-slots", daemon=True)
        self._keeper.start()

    def __enter__(self) -> SharedHostSlots:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def __call__(self, host: str) -> Iterator[None]:
        state = self._host(host)
        clock = self.clock()
        slot = self._take(state)
        try:  # from here on the slot goes back whatever happens (a server error while waiting)
            while (wait := slot.next_start - self.clock()) > 0:
                # A long wait on one of ours: take a slot the server frees meanwhile instead.
                fresh = self._ask_if_due(state) if wait > WORTH_ASKING else None
                if fresh is not None:
                    self._give_back(state, slot)
                    slot = fresh
                    break
                self.sleep(min(wait, self._poll(state)))
            slot.next_start = self.clock() + state.hold
            self.stats.waited += self.clock() - clock
            yield
        finally:
            self._give_back(state, slot)

    def _give_back(self, state: _Host, slot: _Slot) -> None:
        with state.cond:
            if slot.lost:  # dropped by the keeper while in use: never used again
                return
            slot.idle_since = self.clock()
            if slot.idle_since - slot.acquired_at >= slot.tenure:
                state.retiring.append(slot)  # back to the server: the others' turn
            else:
                state.idle.append(slot)
                state.cond.notify()

    def close(self) -> None:
        """Release every slot held, each no sooner than its next start (the rate holds
        across processes too)."""
        self._stop.set()
        self._keeper.join(timeout=5)
        due = max((slot.next_start for state in self._hosts.values() for slot in state.held),
                  default=0.0)  # fmt: skip
        if due > self.clock():
            self.sleep(min(due - self.clock(), 30.0))
        for state in list(self._hosts.values()):
            with state.cond:
                slots, state.held, state.idle, state.retiring = list(state.held), [], [], []
            for slot in slots:
                self._release(slot)

    # -- slots ------------------------------------------------------------------------------

    def _host(self, host: str) -> _Host:
        with self._lock:
            state = self._hosts.get(host)
            if state is not None:
                return state
            creating = self._creating.setdefault(host, threading.Lock())
        with creating:  # one thread asks the server about a new host; the others wait
            with self._lock:
                if host in self._hosts:
                    return self._hosts[host]
            state = self._new_host(host)
            with self._lock:
                return self._hosts.setdefault(host, state)

    def _new_host(self, host: str) -> _Host:
        limit = self.limits(host)
        name = limit_name(host)
        import httpx
        from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

        try:
            slots = self.client.read_global_concurrency_limit_by_name(name).limit
        except ObjectNotFound:  # a host the configuration does not list
            slots = max(1, limit.concurrency)
            # another worker may create it between our read and our create
            with contextlib.suppress(ObjectAlreadyExists, httpx.HTTPStatusError):
                self.client.upsert_global_concurrency_limit_by_name(name, slots)
        return _Host(name, hold=slots / limit.rate if limit.rate > 0 else 0.0)

    def _take(self, state: _Host) -> _Slot:
        """A slot for one fetch: one of ours that may start now; else a new one if the
        server grants it; else ours that may start soonest; else wait for one."""
        while True:
            with state.cond:
                soon = self.clock() + WORTH_ASKING
                ready = [slot for slot in state.idle if slot.next_start <= soon]
                if ready:
                    return self._reuse(state, ready)
            fresh = self._ask_if_due(state)
            if fresh is not None:
                return fresh
            with state.cond:
                if state.idle:  # ours, not ready yet: it paces the fetch
                    return self._reuse(state, state.idle)
                wait = MAX_POLL if state.acquiring else state.next_ask - self.clock()
                state.cond.wait(timeout=max(0.01, wait))

    def _ask_if_due(self, state: _Host) -> _Slot | None:
        """A new slot from the server, if no other thread of ours is asking and the last
        refusal is `_poll` seconds old; None otherwise or if refused."""
        with state.cond:
            if state.acquiring or self.clock() < state.next_ask:
                return None
            state.acquiring = True
        slot: _Slot | None = None
        retry_after = MAX_POLL
        try:
            slot, retry_after = self._ask(state)
        finally:
            with state.cond:
                state.acquiring = False
                if slot is not None:
                    state.held.append(slot)
                else:
                    poll = min(max(retry_after, 0.01), self._poll(state))
                    state.next_ask = self.clock() + poll
                state.cond.notify_all()
        return slot

    @staticmethod
    def _poll(state: _Host) -> float:
        """How long to wait before asking again: a quarter of a slot's turn, so that a slot
        another process gives back is not left idle for long."""
        return min(MAX_POLL, max(0.05, state.hold / 4))

    def _reuse(self, state: _Host, candidates: list[_Slot]) -> _Slot:
        slot = min(candidates, key=lambda held: held.next_start)
        state.idle.remove(slot)
        slot.idle_since = None
        self.stats.reused += 1
        return slot

    def _ask(self, state: _Host) -> tuple[_Slot | None, float]:
        """Ask the server once: (a new slot, 0) or (None, its Retry-After)."""
        import httpx

        try:
            response = self.client.increment_concurrency_slots_with_lease(
                names=[state.name], slots=1, mode="concurrency", lease_duration=LEASE_SECONDS
            )
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 423:
                raise
            self.stats.refused += 1
            return None, float(exc.response.headers.get("Retry-After") or MAX_POLL)
        data = response.json()
        if not data.get("limits"):
            raise RuntimeError(f"no global concurrency limit {state.name!r} on the server")
        self.stats.acquired += 1
        moment = self.clock()
        tenure = TENURE * (0.5 + (self.stats.acquired * 0.618) % 1.0)  # 0.5-1.5 x, spread
        return _Slot(UUID(data["lease_id"]), moment, moment, tenure=tenure), 0.0

    def _release(self, slot: _Slot) -> None:
        try:
            self.client.release_concurrency_slots_with_lease(slot.lease_id)
            self.stats.released += 1
        except Exception as exc:  # noqa: BLE001 - the lease runs out on its own
            log.warning("could not release concurrency lease %s: %s", slot.lease_id, exc)

    def _keep(self) -> None:
        """Release slots idle past LINGER (never before their next start, which is what keeps
        the rate) or held past TENURE; renew the leases of the others."""
        while not self._stop.wait(KEEPER_INTERVAL):
            for state in list(self._hosts.values()):
                moment = self.clock()
                with state.cond:
                    lingered = [slot for slot in state.idle
                                if moment - (slot.idle_since or moment) >= LINGER]  # fmt: skip
                    done = [slot for slot in lingered + state.retiring
                            if moment >= slot.next_start]  # fmt: skip
                    for slot in done:
                        (state.idle if slot in state.idle else state.retiring).remove(slot)
                        state.held.remove(slot)
                    due = [slot for slot in state.held
                           if moment - slot.renewed_at >= LEASE_SECONDS / 3
                           and moment >= slot.renew_after]  # fmt: skip
                for slot in done:
                    self._release(slot)
                for slot in due:
                    self._renew(state, slot, moment)

    def _renew(self, state: _Host, slot: _Slot, moment: float) -> None:
        """Renew a slot's lease. One the server no longer knows, or could not be renewed for
        most of a lease (the server may have taken it back and given it to another process),
        is dropped: a fetch using it still finishes, and it is never used again."""
        import httpx

        try:
            self.client.renew_concurrency_lease(slot.lease_id, LEASE_SECONDS)
            slot.renewed_at = moment
            return
        except Exception as exc:  # noqa: BLE001 - any failure: retried, or the slot dropped
            status = exc.response.status_code if isinstance(exc, httpx.HTTPStatusError) else None
            unrenewed = moment - slot.renewed_at
            if status not in LEASE_UNKNOWN and unrenewed < LOST_AFTER * LEASE_SECONDS:
                slot.renew_after = moment + RENEW_RETRY
                return
            log.warning("concurrency lease %s of %s lost: %s", slot.lease_id, state.name, exc)
        with state.cond:
            slot.lost = True
            for slots in (state.held, state.idle, state.retiring):
                if slot in slots:
                    slots.remove(slot)
            state.cond.notify_all()
