"""Connections checked where they are made, and fetches held to a total deadline.

Address check: a host name is resolved once, every address it resolves to is checked
(no loopback, private, link-local or multicast address unless the host is allowed), and
the socket connects to one of those checked addresses. Checking first and letting the
connection resolve again would let a DNS server answer a public address to the check and
a private one to the connection (DNS rebinding). TLS still names the host (SNI and the
certificate check use the URL's host name), as does the Host header.

Deadline: timeouts are per socket operation, so a server sending a byte every few
seconds, or a run of retries, could hold a fetch for ever. Each fetch is watched by a
timer that shuts its sockets down when its deadline passes; a source's deadline (the
`source_deadline` context) caps every fetch made inside it.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection
from urllib3.util.retry import Retry

_FETCH: contextvars.ContextVar[Watch | None] = contextvars.ContextVar("fetch", default=None)
# The source's deadline (monotonic time) and the seconds it was given.
_SOURCE: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar(
    "source", default=None
)


class AddressRefused(Exception):
    """A host resolved to an address the client may not connect to.

    Deliberately not an OSError: urllib3 retries those, and this must not be retried.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DeadlinePassed(Exception):
    """The fetch's deadline passed (raised where waiting or connecting would go on)."""


# -- addresses -----------------------------------------------------------------------------


def is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def refusal(host: str, address: str) -> str:
    return (
        f"refused: {host} is a loopback or private address ({address}); "
        "list it in [http] allowed_private_hosts to allow it"
    )


class _GuardedConnection(HTTPConnection):
    """Resolve once, check every address, connect to a checked one; watched by the fetch."""

    allowed_hosts: frozenset[str] = frozenset()

    def _new_conn(self) -> socket.socket:
        watch = _FETCH.get()
        if watch is not None and watch.expired:
            raise DeadlinePassed()
        host = self._dns_host.strip("[]")
        try:
            infos = socket.getaddrinfo(
                host, self.port, urllib3_connection.allowed_gai_family(), socket.SOCK_STREAM
            )
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if self.host.lower().strip("[]") not in self.allowed_hosts:
            for address in addresses:
                if is_private(address):
                    raise AddressRefused(refusal(self.host, address))
        sock = self._connect_to(addresses)
        if watch is not None:
            watch.add(sock)
        return sock

    def _connect_to(self, addresses: list[str]) -> socket.socket:
        error: Exception = NewConnectionError(self, f"{self.host} resolved to no address")
        for address in addresses:
            try:
                return urllib3_connection.create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError:
                message = f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
                error = ConnectTimeoutError(self, message)
            except OSError as exc:
                error = NewConnectionError(self, f"Failed to establish a new connection: {exc}")
        raise error

    def request(self, *args: Any, **kwargs: Any) -> None:
        watch = _FETCH.get()
        if watch is not None and self.sock is not None:  # a kept-alive connection reused
            watch.add(self.sock)
        super().request(*args, **kwargs)


class _GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    pass


def guarded_pool_classes(allowed_hosts: frozenset[str]) -> dict[str, type]:
    """urllib3 pool classes for http and https whose connections refuse private addresses
    (except for `allowed_hosts`), for PoolManager.pool_classes_by_scheme."""
    plain = type("GuardedConnection", (_GuardedConnection,), {"allowed_hosts": allowed_hosts})
    tls = type("GuardedTLSConnection", (_GuardedHTTPSConnection,), {"allowed_hosts": allowed_hosts})
    return {
        "http": type("GuardedPool", (HTTPConnectionPool,), {"ConnectionCls": plain}),
        "https": type("GuardedTLSPool", (HTTPSConnectionPool,), {"ConnectionCls": tls}),
    }


# -- deadlines -----------------------------------------------------------------------------


class Watch:
    """One fetch's deadline: when it passes, every socket the fetch uses is shut down, so
    a read blocked on a slow server returns at once."""

    def __init__(self, deadline: float, seconds: float, why: str) -> None:
        self.deadline = deadline
        self.seconds = seconds  # the allowance (fetch's or source's) that set the deadline
        self.why = why  # the setting that set it
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._start_timer()

    def _start_timer(self) -> None:
        self._timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Stop this fetch's clock inside the block (waiting for a turn at a host is not the
        host's slowness); the source's deadline, if any, still holds."""
        with self._lock:
            self._timer.cancel()
        started = time.monotonic()
        try:
            yield
        finally:
            deadline = self.deadline + time.monotonic() - started
            source = _SOURCE.get()
            if source is not None:
                deadline = min(deadline, source[0])
            with self._lock:
                self.deadline = max(self.deadline, deadline)
                if not self.expired:
                    self._start_timer()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def reason(self) -> str:
        return (
            f"gave up after {self.seconds:g} s ({self.why}): the server sends too slowly or "
            "not at all"
        )

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._sockets.clear()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def watched(seconds: float) -> Iterator[Watch]:
    """Watch one fetch: it has `seconds`, or what is left of the source's deadline."""
    deadline, why, allowance = time.monotonic() + seconds, "[http] fetch_deadline", seconds
    source = _SOURCE.get()
    if source is not None and source[0] < deadline:
        deadline, allowance = source
        why = "[http] source_deadline"
    outer = _FETCH.get()
    if outer is not None and outer.deadline <= deadline:  # a fetch inside a fetch
        yield outer
        return
    watch = Watch(deadline, allowance, why)
    token = _FETCH.set(watch)
    try:
        yield watch
    finally:
        _FETCH.reset(token)
        watch.close()


@contextlib.contextmanager
def source_deadline(seconds: float) -> Iterator[None]:
    """Every fetch inside ends by `seconds` from now (or an enclosing source's deadline)."""
    end = time.monotonic() + seconds
    outer = _SOURCE.get()
    token = _SOURCE.set(outer if outer is not None and outer[0] <= end else (end, seconds))
    try:
        yield
    finally:
        _SOURCE.reset(token)


class DeadlineRetry(Retry):
    """urllib3's Retry, but it does not sleep (backoff, Retry-After) past the deadline."""

    def sleep(self, response: Any = None) -> None:
        watch = _FETCH.get()
        if watch is not None:
            wait = None
            if response is not None and self.respect_retry_after_header:
                wait = self.get_retry_after(response)
            wait = self.get_backoff_time() if wait is None else wait
            if watch.expired or wait >= watch.remaining():
                raise DeadlinePassed()
        super().sleep(response)
