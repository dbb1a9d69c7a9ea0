"""robots.txt, read once per host and run, with Protego (Scrapy's parser: wildcards, $)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from protego import Protego

from pipeline.sources.sites.base import RobotsDisallowed, SiteBlocked, looks_like_captcha

if TYPE_CHECKING:
    import requests

    from pipeline.http import HttpClient


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))


class RobotsRules:
    """Whether our user agent may fetch a URL, by the robots.txt of its host.

    As RFC 9309 says: a missing robots.txt (404 and other 4xx) allows everything; one that
    cannot be read (5xx, no connection) allows nothing. A 401/403 on robots.txt itself is
    the site refusing us, and stops the site for the run like any other 403.
    """

    def __init__(self, client: HttpClient, agent: str) -> None:
        self.client = client
        self.agent = agent
        self._rules: dict[str, Protego | None] = {}  # robots URL -> rules (None: allow all)

    def rules(self, site: str, url: str) -> Protego | None:
        from pipeline.http import FetchError

        where = robots_url(url)
        if where in self._rules:
            return self._rules[where]
        try:  # a captcha in place of robots.txt is refused, so never cached
            text = self.client.get_text(where, validate=_not_a_captcha)
        except FetchError as exc:
            if exc.status in (401, 403):
                raise SiteBlocked(site, where, f"robots.txt answered HTTP {exc.status}") from exc
            if exc.status is not None and 400 <= exc.status < 500:
                self._rules[where] = None
                return None
            if exc.status is not None and exc.status < 300:  # refused by _not_a_captcha
                raise SiteBlocked(site, where, exc.reason) from exc
            raise SiteBlocked(site, where, f"robots.txt could not be read ({exc.reason})") from exc
        self._rules[where] = Protego.parse(text)
        return self._rules[where]

    def check(self, site: str, url: str) -> None:
        rules = self.rules(site, url)
        if rules is not None and not rules.can_fetch(url, self.agent):
            raise RobotsDisallowed(url)

    def crawl_delay(self, site: str, url: str) -> float | None:
        rules = self.rules(site, url)
        delay = rules.crawl_delay(self.agent) if rules is not None else None
        return float(delay) if delay else None


def _not_a_captcha(response: requests.Response) -> str | None:
    return "robots.txt answered with a captcha page" if looks_like_captcha(response.text) else None
