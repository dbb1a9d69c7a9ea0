"""Case URLs from a site's search or listing pages, following next-page links."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

from pipeline.sources.sites import case_site
from pipeline.sources.sites.base import CaseSite, LayoutChanged, ListingPage, looks_like_captcha
from pipeline.sources.sites.fetcher import SiteFetcher

if TYPE_CHECKING:
    from pipeline.config import Config

DEFAULT_MAX_PAGES = 10


def _listing_or_gate(module: CaseSite) -> Callable[[str, str], ListingPage]:
    """The listing parser; a page of no cases that looks like a bot gate is one (the fetcher
    then stops the site for the run)."""

    def parse(text: str, url: str) -> ListingPage:
        listing = module.parse_listing(text, url)
        if not listing.cases and looks_like_captcha(text):
            raise LayoutChanged(module.name, url, "no case links")
        return listing

    return parse


def discover_cases(
    site: str,
    query: str,
    config: Config,
    *,
    since: date | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
    fetcher: SiteFetcher | None = None,
) -> Iterator[dict[str, Any]]:
    """Each case once: {"site", "url", "title", "date"} (date None where the listing has none).

    With `since`, cases the listing dates before it are left out; undated ones are kept
    (search results are in relevance order, so paging cannot stop at the first old one).
    """
    module = case_site(site)
    own = fetcher is None
    fetcher = fetcher or SiteFetcher.from_config(config)
    try:
        url: str | None = module.search_url(config.url(site), query)
        visited: set[str] = set()
        seen: set[str] = set()
        while url and url not in visited and len(visited) < max_pages:
            visited.add(url)
            listing = fetcher.parse(site, url, _listing_or_gate(module))
            for case in listing.cases:
                if case["url"] in seen:
                    continue
                seen.add(str(case["url"]))
                if since and case.get("date") and date.fromisoformat(str(case["date"])) < since:
                    continue
                yield {"site": site, **case}
            url = listing.next_url
    finally:
        if own:
            fetcher.close()
