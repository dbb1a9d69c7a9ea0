"""The one HTTP client every source uses (Crossref included: see sources/crossref.py).

Built from libraries, configured from `[http]` in configs/pipeline.toml:
- retries with exponential backoff that honour Retry-After on 429 and 503: urllib3 `Retry`;
- a per-host rate limit: requests-ratelimiter (pyrate-limiter), one bucket per host;
- a per-host concurrency limit: urllib3's connection pool per host, blocking when full;
- a response cache so a rerun does not fetch again: requests-cache, SQLite file.
Redirects are followed here, one hop at a time, so every hop is checked: only http(s), no
loopback or private address unless its host is in `allowed_private_hosts` (checked on the
address each connection is made to: see netguard.py).

Every fetch has a total deadline (`fetch_deadline`, retries and body included; inside
`netguard.source_deadline(...)` also the source's), and every body a size cap. Only validated
bodies are kept: a response enters the cache only after the caller's `validate` accepted
it, and a download takes its final name only once complete and accepted by `complete`.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import requests
from pyrate_limiter import Duration, Limiter, Rate
from requests.adapters import HTTPAdapter
from requests_cache import CacheMixin
from requests_ratelimiter import HostBucketFactory, LimiterMixin, LimiterSession

from pipeline import netguard
from pipeline.bodies import parse_json
from pipeline.errors import SourceError
from pipeline.files import atomic_path

if TYPE_CHECKING:
    from pipeline.config import Config

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 500, 502, 503, 504)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
CHUNK = 64 * 1024
# A response's body is refused (and never cached) when this returns a reason.
Validator = Callable[[requests.Response], "str | None"]


class FetchError(SourceError):
    """A URL could not be fetched: `source` is the URL, `status` the HTTP status if any."""

    def __init__(
        self, url: str, reason: str, *, status: int | None = None, body_head: str = ""
    ) -> None:
        super().__init__(url, reason)
        self.status = status
        # The first bytes of an error page, so a caller can tell a bot gate from an outage.
        self.body_head = body_head


# -- a gate around every fetch, for limits shared with other processes -------------------------

# gate(host) gives a context manager held while a fetch talks to that host: from the first
# request to the end of the body, given back and taken for the next host when a redirect
# leads elsewhere.
FetchGate = Callable[[str], contextlib.AbstractContextManager[None]]
_fetch_gate: FetchGate | None = None
_held = threading.local()  # the _HostHold of the fetch running in this thread


@contextlib.contextmanager
def fetch_gate(gate: FetchGate) -> Iterator[None]:
    """Hold `gate(host)` while any fetch of any client in this process, inside the block,
    talks to `host` (a redirect to another host takes that host's gate instead).

    A host is the URL's `host[:port]`, as in configs/nightly.toml [hosts]. The Prefect
    backfill (flows/limits.py) passes one that takes a slot of the host's global
    concurrency limit, shared by every worker; the library itself never sets one.
    """
    global _fetch_gate
    previous, _fetch_gate = _fetch_gate, gate
    try:
        yield
    finally:
        _fetch_gate = previous


class _HostHold:
    """The gate of the one host a fetch is talking to. A redirect to another host gives this
    host's slot back before taking the next one's (never two at once: two fetches redirected
    crosswise would wait for each other), so every host counts every request it serves."""

    def __init__(self, gate: FetchGate) -> None:
        self.gate = gate
        self.host: str | None = None
        self.stack = contextlib.ExitStack()

    def talk_to(self, url: str) -> None:
        host = urlsplit(url).netloc.lower()
        if host != self.host:
            self.release()
            self.stack.enter_context(self.gate(host))
            self.host = host

    def release(self) -> None:
        self.host = None
        self.stack.close()


def _talking_to(url: str) -> None:
    """Hold the gate of `url`'s host for the fetch running in this thread, if one is set."""
    hold: _HostHold | None = getattr(_held, "hold", None)
    if hold is not None:
        hold.talk_to(url)


def _gated(fetch: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fetch)
    def gated(self: HttpClient, url: str, *args: Any, **kwargs: Any) -> Any:
        gate = _fetch_gate
        if gate is None:
            return fetch(self, url, *args, **kwargs)
        outer = getattr(_held, "hold", None)
        _held.hold = hold = _HostHold(gate)
        try:
            hold.talk_to(url)
            return fetch(self, url, *args, **kwargs)
        finally:
            hold.release()
            _held.hold = outer

    return gated


class _CachedLimiterSession(CacheMixin, LimiterMixin, requests.Session):
    """Cache first, so a cache hit spends nothing of the host's rate limit."""


class _GuardedAdapter(HTTPAdapter):
    """An adapter whose connections check the address they connect to (netguard.py)."""

    def __init__(self, allowed_hosts: frozenset[str], **kwargs: Any) -> None:
        self._pool_classes = netguard.guarded_pool_classes(allowed_hosts)
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes


class _StaleCachedBody(Exception):
    """A cached body its validator now refuses: dropped from the cache, fetched again."""


class HttpClient:
    """GET, JSON, text and streamed downloads with the project's politeness and safety rules.

    One client may be shared by threads. Close it (or use it as a context manager) to stop
    the rate limiter's background thread and close the cache file.
    """

    def __init__(
        self,
        config: Config,
        *,
        cache_dir: Path | None = None,
        min_interval: float | None = None,
        cache: bool | None = None,
    ) -> None:
        settings = config.http
        self.timeout = (settings.connect_timeout, settings.read_timeout)
        self.max_redirects = settings.max_redirects
        self.max_bytes = settings.max_download_bytes
        self.max_page_bytes = settings.max_page_bytes
        self.fetch_deadline = settings.fetch_deadline
        self.allowed_private_hosts = allowed_private_hosts(config)
        retry = netguard.DeadlineRetry(
            total=settings.retries,
            backoff_factor=settings.backoff_factor,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "HEAD"}),
            respect_retry_after_header=True,
            retry_after_max=settings.max_retry_after,
            raise_on_status=False,
        )
        # pool_block: at most `max_concurrent_per_host` connections to a host at once.
        concurrent = settings.max_concurrent_per_host
        adapter = _GuardedAdapter(
            frozenset(self.allowed_private_hosts),
            max_retries=retry,
            pool_maxsize=concurrent,
            pool_block=True,
        )

        self._limiter = Limiter(
            HostBucketFactory(_rates(settings.requests_per_second, min_interval)),
            buffer_ms=50,
        )
        self._plain = LimiterSession(limiter=self._limiter, per_host=True)
        sessions: list[requests.Session] = [self._plain]
        use_cache = settings.cache if cache is None else cache
        self.cache_path: Path | None = None
        if use_cache:
            folder = cache_dir or config.path("metadata") / "http-cache"
            folder.mkdir(parents=True, exist_ok=True)
            self.cache_path = folder / "http.sqlite"
            self._cached: requests.Session = _CachedLimiterSession(
                cache_name=str(self.cache_path),
                backend="sqlite",
                expire_after=settings.cache_expire_days * 86400,
                allowable_codes=(200, *REDIRECT_STATUSES),
                limiter=self._limiter,  # one rate limit per host for both sessions
            )
            sessions.append(self._cached)
        else:
            self._cached = self._plain
        self._closed = False
        for session in sessions:
            session.headers["User-Agent"] = config.user_agent
            session.mount("http://", adapter)
            session.mount("https://", adapter)

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._cached is not self._plain:
            self._cached.close()
        self._plain.close()
        self._limiter.close()

    # -- public API ----------------------------------------------------------------------

    @_gated
    def get(
        self,
        url: str,
        *,
        params: dict | None = None,
        headers: dict | None = None,
        max_bytes: int | None = None,
        validate: Validator | None = None,
        cache: bool = True,
    ) -> requests.Response:
        """The final response after redirects; FetchError on any failure or 4xx/5xx.

        The body is read into memory, so it is capped (`max_page_mb`, or `max_bytes`): on the
        declared Content-Length before reading, and on the decoded bytes while reading.
        `validate(response)` returns why the body is refused (or raises): a refused body is
        a FetchError and never enters the cache. The whole fetch ends within the deadline.
        """
        limit = self.max_page_bytes if max_bytes is None else max_bytes
        session = self._cached if cache else self._plain
        hook = partial(_read_capped, limit=limit, validate=validate, forget=self._forget)
        with netguard.watched(self.fetch_deadline) as watch:
            for _attempt in range(2):  # a second time only after dropping a stale cached body
                try:
                    return self._request(
                        session, url, params=params, headers=headers, stream=False,
                        hooks={"response": hook}, watch=watch,
                    )  # fmt: skip
                except _StaleCachedBody:
                    log.info("%s: cached body no longer valid, fetching again", url)
            raise FetchError(url, "cached body refused twice")

    def get_json(
        self,
        url: str,
        *,
        params: dict | None = None,
        headers: dict | None = None,
        expect: Callable[[Any], str | None] | None = None,
        cache: bool = True,
    ) -> Any:
        """Parsed JSON; FetchError when it is malformed or `expect(data)` gives a reason.
        Only JSON that parses and has the expected shape is cached."""
        parsed: list[Any] = []

        def validate(response: requests.Response) -> str | None:
            data, problem = parse_json(response.content)
            problem = problem or (expect(data) if expect else None)
            if problem is None:
                parsed.append(data)
            return problem

        self.get(
            url,
            params=params,
            headers={"Accept": "application/json", **(headers or {})},
            validate=validate,
            cache=cache,
        )
        return parsed[-1]

    def get_text(
        self, url: str, *, params: dict | None = None, validate: Validator | None = None
    ) -> str:
        return self.get(url, params=params, validate=validate).text

    @_gated
    def download(
        self,
        url: str,
        dest: Path,
        *,
        max_bytes: int | None = None,
        check: Callable[[bytes], str | None] | None = None,
        complete: Callable[[Path], str | None] | None = None,
    ) -> Path:
        """Stream `url` into `dest`; `dest` appears only once the whole body is written.

        `check(first_bytes)` returns a reason to refuse the body early (or None to accept
        it); `complete(path)` looks at the whole file before it takes `dest`'s name. A
        partial, refused or late body never takes the name. Downloads bypass the response
        cache: the file written is their cache.
        """
        limit = self.max_bytes if max_bytes is None else max_bytes
        with netguard.watched(self.fetch_deadline) as watch:
            response = self._request(
                self._plain, url, params=None, headers=None, stream=True, watch=watch
            )
            final_url = response.url
            with contextlib.closing(response):
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise FetchError(
                        final_url, f"{_mb(int(declared))} is over the {_mb(limit)} cap"
                    )
                with atomic_path(dest) as temporary:
                    with open(temporary, "wb") as stream:
                        self._copy_body(response, stream, limit, check, watch)
                    reason = complete(temporary) if complete else None
                    if reason:
                        raise FetchError(final_url, reason, status=response.status_code)
        log.info("downloaded %s to %s", final_url, dest)
        return dest

    # -- internals -----------------------------------------------------------------------

    def _forget(self, response: requests.Response) -> None:
        """Drop a cached response from the cache."""
        key = getattr(response, "cache_key", None)
        cache = getattr(self._cached, "cache", None)
        if key and cache is not None:
            cache.delete(key)

    def _copy_body(
        self,
        response: requests.Response,
        stream: Any,
        limit: int,
        check: Callable[[bytes], str | None] | None,
        watch: netguard.Watch,
    ) -> None:
        written = 0
        head = b""
        checked = check is None
        try:
            for chunk in response.iter_content(CHUNK):
                written += len(chunk)
                if written > limit:
                    raise FetchError(response.url, f"body is over the {_mb(limit)} cap")
                if not checked:
                    head += chunk
                    if len(head) < 1024:
                        continue
                    self._run_check(response.url, check, head)
                    stream.write(head)
                    checked = True
                    continue
                stream.write(chunk)
        except requests.RequestException as exc:
            if watch.expired:
                raise FetchError(response.url, watch.reason()) from exc
            raise FetchError(response.url, f"download interrupted: {_describe(exc)}") from exc
        if watch.expired:  # a socket shut down mid-body ends a body of unknown length early
            raise FetchError(response.url, watch.reason())
        if not checked:
            self._run_check(response.url, check, head)
            stream.write(head)

    @staticmethod
    def _run_check(url: str, check: Callable[[bytes], str | None] | None, head: bytes) -> None:
        reason = check(head) if check else None
        if reason:
            raise FetchError(url, reason)

    def _request(
        self,
        session: requests.Session,
        url: str,
        *,
        params: dict | None,
        headers: dict | None,
        stream: bool,
        watch: netguard.Watch,
        hooks: dict[str, Any] | None = None,
    ) -> requests.Response:
        current = url
        for _hop in range(self.max_redirects + 1):
            self.check_url(current)
            with watch.paused():  # a turn at a host is not its slowness
                _talking_to(current)
            if watch.expired:
                raise FetchError(current, watch.reason())
            try:
                response = session.get(
                    current,
                    params=params,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                    stream=stream,
                    hooks=hooks,
                )
            except netguard.AddressRefused as exc:
                raise FetchError(current, exc.reason) from exc
            except netguard.DeadlinePassed as exc:
                raise FetchError(current, watch.reason()) from exc
            except requests.RequestException as exc:
                if watch.expired:
                    raise FetchError(current, watch.reason()) from exc
                raise FetchError(current, _describe(exc)) from exc
            if watch.expired:
                response.close()
                raise FetchError(current, watch.reason())
            log.debug(
                "GET %s -> %s%s",
                response.url,
                response.status_code,
                " (cached)" if getattr(response, "from_cache", False) else "",
            )
            if response.status_code in REDIRECT_STATUSES and "Location" in response.headers:
                current = urljoin(response.url, response.headers["Location"])
                params = None  # the Location already carries its query
                response.close()
                continue
            if response.status_code >= 400:
                head = _error_head(response)
                response.close()
                raise FetchError(
                    response.url,
                    f"HTTP {response.status_code} {response.reason or ''}".strip(),
                    status=response.status_code,
                    body_head=head,
                )
            return response
        raise FetchError(url, f"more than {self.max_redirects} redirects")

    def check_url(self, url: str) -> None:
        """Refuse non-http(s) URLs and hosts that resolve to loopback or private addresses."""
        check_url(url, self.allowed_private_hosts)


ERROR_HEAD_BYTES = 64 * 1024


def _error_head(response: requests.Response) -> str:
    """At most ERROR_HEAD_BYTES of an error answer's body, as text; "" when unreadable."""
    try:
        if getattr(response, "_content_consumed", False):
            data = (response.content or b"")[:ERROR_HEAD_BYTES]
        else:
            data = response.raw.read(ERROR_HEAD_BYTES, decode_content=True) or b""
    except Exception:  # noqa: BLE001  (a broken error body must not hide the error itself)
        return ""
    return data.decode(response.encoding or "utf-8", errors="replace")


def _read_capped(
    response: requests.Response,
    *_args: Any,
    limit: int,
    validate: Validator | None,
    forget: Callable[[requests.Response], None],
    **_kwargs: Any,
) -> None:
    """A response hook that reads the body itself, refusing more than `limit` bytes, then
    has `validate` look at it.

    requests runs response hooks before it reads a non-streamed body, and requests-cache
    stores the response only after that, so a refused body raises before anything is cached.
    Even with `stream=True` requests-cache would read the whole body to store it, hence a hook.
    Cached responses arrive with their body already read: their size and body are checked
    again, and one refused now is dropped from the cache and fetched again.
    """
    if response.status_code >= 300:
        validate = None  # redirects and errors are the caller's: only their size is capped
    if response._content_consumed:
        if len(response.content) > limit:
            raise FetchError(response.url, f"body is over the {_mb(limit)} cap")
        if getattr(response, "from_cache", False):
            if _refusal(response, validate):
                forget(response)
                raise _StaleCachedBody()
            return
        _validated(response, validate)
        return
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        response.close()
        raise FetchError(response.url, f"{_mb(int(declared))} is over the {_mb(limit)} cap")
    body = bytearray()
    for chunk in response.iter_content(CHUNK):
        body += chunk
        if len(body) > limit:
            response.close()
            raise FetchError(response.url, f"body is over the {_mb(limit)} cap")
    response._content = bytes(body)
    response._content_consumed = True
    _validated(response, validate)


def _refusal(response: requests.Response, validate: Validator | None) -> str | None:
    return validate(response) if validate else None


def _validated(response: requests.Response, validate: Validator | None) -> None:
    """Run `validate` once per response (requests-cache dispatches hooks twice)."""
    if getattr(response, "_pipeline_validated", False):
        return
    reason = _refusal(response, validate)
    if reason:
        raise FetchError(response.url, reason, status=response.status_code)
    response._pipeline_validated = True  # type: ignore[attr-defined]


def _rates(per_second: float, min_interval: float | None) -> list[Rate]:
    """Per-host rates: `per_second` in any one second, and one per `min_interval` if given."""
    rates = []
    if min_interval and min_interval > 0:
        rates.append(Rate(1, max(1, round(min_interval * 1000))))
    # pyrate-limiter wants the rates from the densest down: keep the per-second one only
    # when it allows less than the minimum interval does.
    if per_second > 0 and not (min_interval and per_second * min_interval >= 1):
        # a fractional rate is never rounded up (1.7/s would allow 2)
        if per_second >= 1:
            rates.append(Rate(int(per_second), Duration.SECOND))
        else:
            rates.append(Rate(1, round(1000 / per_second)))
    return rates or [Rate(1000, Duration.SECOND)]


def allowed_private_hosts(config: Config) -> set[str]:
    return {host.lower() for host in config.http.allowed_private_hosts}


def check_url(url: str, allowed_hosts: set[str] | frozenset[str] = frozenset()) -> None:
    """FetchError unless `url` is http(s) with a host, and not a literal loopback or private
    address (unless allowed). Names are checked where they are connected to: netguard.py."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(url, f"refused scheme {parts.scheme or '(none)'!r}: only http(s)")
    host = (parts.hostname or "").lower()
    if not host:
        raise FetchError(url, "no host in URL")
    if host in allowed_hosts:
        return
    with contextlib.suppress(ValueError):
        address = str(ipaddress.ip_address(host.strip("[]")))
        if netguard.is_private(address):
            raise FetchError(url, netguard.refusal(host, address))


def _describe(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        # requests wraps urllib3's MaxRetryError, whose `reason` says what went wrong.
        cause: Any = exc.args[0] if exc.args else exc
        cause = getattr(cause, "reason", cause)
        text = str(cause)
        if "timed out" in text.lower():
            return "timed out"
        return f"connection failed ({text[:200]})"
    if isinstance(exc, requests.TooManyRedirects):
        return "too many redirects"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


@contextlib.contextmanager
def http_client(config: Config, **kwargs: Any) -> Iterator[HttpClient]:
    client = HttpClient(config, **kwargs)
    try:
        yield client
    finally:
        client.close()
