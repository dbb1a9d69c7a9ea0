"""Polite access to the case sites over the shared HTTP client.

On top of `pipeline.http.HttpClient` (retries, Retry-After, per-host rate limit, size cap,
deadline, private-address refusal) this adds what is particular to crawling web sites:
robots.txt, its Crawl-delay, and stopping a site for the rest of the run once it answers
403, keeps answering 429, or shows a captcha. One SiteFetcher is one run.

A page is read by its parser before anyone keeps it: the client caches only a page its
parser accepted, so a captcha or a half-rendered page is never replayed on a later run
(the nightly shares one caching client), and an image takes its final name only whole.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from pipeline.sources.sites.base import LayoutChanged, SiteBlocked, looks_like_captcha
from pipeline.sources.sites.robots import RobotsRules

if TYPE_CHECKING:
    import requests

    from pipeline.config import Config
    from pipeline.http import FetchError, HttpClient

T = TypeVar("T")

MAX_CRAWL_DELAY = 60.0
BLOCKING_STATUSES = {403: "HTTP 403 Forbidden", 429: "HTTP 429 Too Many Requests after retries"}


def agent_token(config: Config) -> str:
    """The product token robots.txt rules are matched against."""
    return config.contact.project


class SiteFetcher:
    def __init__(self, client: HttpClient, agent: str, *, owns_client: bool = False) -> None:
        self.client = client
        self.robots = RobotsRules(client, agent)
        self.blocked: dict[str, SiteBlocked] = {}
        self._owns_client = owns_client
        self._last_request: dict[str, float] = {}

    @classmethod
    def from_config(cls, config: Config, client: HttpClient | None = None) -> SiteFetcher:
        """A fetcher on `client`, or on a new client with the sites' minimum interval.

        The new client does not cache responses: a captcha page answered with 200 must
        not be replayed on the next run.
        """
        if client is not None:
            return cls(client, agent_token(config))
        from pipeline.http import HttpClient

        interval = config.sites.min_interval
        own = HttpClient(config, min_interval=interval or None, cache=False)
        return cls(own, agent_token(config), owns_client=True)

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> SiteFetcher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- requests ------------------------------------------------------------------------

    def parse(self, site: str, url: str, parser: Callable[[str, str], T]) -> T:
        """Fetch a page and parse it; the page enters the response cache only if `parser`
        accepts it. A parser raises LayoutChanged for a page of the wrong shape; a captcha
        there stops the site."""
        from pipeline.http import FetchError

        parsed: list[T] = []

        def accept(response: requests.Response) -> str | None:
            text = response.text
            try:
                parsed.append(parser(text, url))
            except LayoutChanged:
                if looks_like_captcha(text):
                    raise self.block(site, url, "the site answered with a captcha page") from None
                raise
            return None

        self._before(site, url)
        try:
            self.client.get(url, validate=accept)
        except FetchError as exc:
            raise self._after_error(site, url, exc) from exc
        return parsed[-1]

    def download(
        self,
        site: str,
        url: str,
        dest: Path,
        check: Callable[[bytes], str | None],
        *,
        may_block: bool = True,
    ) -> Path:
        """Download an image. `may_block=False` for a guessed address (the full-size file
        behind a resized one), whose 403 says nothing about the site's view of us."""
        from pipeline.bodies import complete_image
        from pipeline.http import FetchError

        self._before(site, url)
        try:
            return self.client.download(url, dest, check=check, complete=complete_image)
        except FetchError as exc:
            raise (self._after_error(site, url, exc) if may_block else exc) from exc

    def block(self, site: str, url: str, why: str) -> SiteBlocked:
        """Stop `site` for the rest of the run; the error to raise."""
        self.blocked[site] = SiteBlocked(site, url, why)
        return self.blocked[site]

    # -- internals -----------------------------------------------------------------------

    def _before(self, site: str, url: str) -> None:
        if site in self.blocked:
            earlier = self.blocked[site]
            raise SiteBlocked(site, url, f"{earlier.why} (at {earlier.source})")
        try:
            self.robots.check(site, url)
            delay = self.robots.crawl_delay(site, url)
        except SiteBlocked as exc:
            self.blocked[site] = exc
            raise
        host = urlsplit(url).netloc
        if delay:
            wait = min(delay, MAX_CRAWL_DELAY) - (
                time.monotonic() - self._last_request.get(host, 0)
            )
            if wait > 0:
                time.sleep(wait)
        self._last_request[host] = time.monotonic()

    def _after_error(self, site: str, url: str, exc: FetchError) -> Exception:
        if exc.status in BLOCKING_STATUSES:
            return self.block(site, url, BLOCKING_STATUSES[exc.status])
        if exc.body_head and looks_like_captcha(exc.body_head):
            # Cloudflare's "checking your browser" answers 503: a gate, not an outage.
            return self.block(site, url, f"HTTP {exc.status} with a bot check page")
        return exc
