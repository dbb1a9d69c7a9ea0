"""The contract every case-site parser fulfils, and the helpers they share.

A site module turns a page's HTML (and, for Radiopaedia, its stacks JSON) into a
`CasePage`. Parsers take text, never fetch: fetching is `fetcher.SiteFetcher`'s job.
Page text is untrusted: it leaves here as plain text, never as markup.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, urljoin

from bs4 import BeautifulSoup, Tag

from pipeline.errors import SourceError
from pipeline.sources.sites.scope import strip_chrome

if TYPE_CHECKING:
    from pipeline.sources.sites.fetcher import SiteFetcher

# Elements whose content is never page text.
_NOT_TEXT = ("script", "style", "noscript", "template", "iframe", "object", "svg")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


class LayoutChanged(SourceError):
    """The page no longer has the structure the parser was written for."""

    def __init__(self, site: str, url: str, missing: str) -> None:
        super().__init__(url, f"{site} layout changed: {missing}")
        self.site = site
        self.url = url
        self.missing = missing


class SiteBlocked(SourceError):
    """The site refused us (403, captcha, robots.txt forbidden): no more requests this run."""

    def __init__(self, site: str, url: str, why: str) -> None:
        super().__init__(
            url, f"{site} stopped for this run: {why}; try again later, more slowly, or by hand"
        )
        self.site = site
        self.why = why


class RobotsDisallowed(SourceError):
    """robots.txt does not allow fetching this address."""

    def __init__(self, url: str) -> None:
        super().__init__(url, "robots.txt of the site disallows fetching this address")


@dataclass
class CaseImage:
    """One image of a case, as the page describes it."""

    url: str  # full-resolution address
    page_url: str | None = None  # the address the page shows (resized), tried if `url` fails
    modality: str | None = None  # "X-ray", "CT", another site word, or None when not said
    view: str | None = None  # the collection's view name, when the site says it
    view_text: str | None = None  # the site's own words for the view (plane, legend)
    legend: str | None = None
    study_findings: str | None = None
    study: str | None = None  # study or stack the image belongs to (CT slices share one)
    position: int | None = None  # index within its stack
    stack_size: int | None = None
    full_resolution: bool = True  # False when the site gave only a resized copy


def legend_image(url: str, shown: str, legend: str | None) -> CaseImage:
    """An image the page describes by its legend: modality and view read from its words.
    `url` is the full-size file, `shown` the address the page shows (tried if `url` fails)."""
    from pipeline.sources.sites.vocab import modality_from_text, view_name

    modality = modality_from_text(legend)
    return CaseImage(
        url=url,
        page_url=shown if shown != url else None,
        modality=modality,
        view=view_name(modality, legend),
        view_text=legend,
        legend=legend,
    )


@dataclass
class CasePage:
    """What a case page says, as plain text."""

    site: str
    url: str
    title: str
    age: float | int | None = None
    sex: str | None = None  # "M" or "F"
    finding: str | None = None  # the collection's finding name
    diagnosis: str | None = None  # the site's words the finding was read from
    clinical_history: str | None = None
    images: list[CaseImage] = field(default_factory=list)
    credit: str | None = None
    license: str | None = None
    doi: str | None = None
    date: str | None = None  # ISO date the case was published, when the page says
    certainty: str | None = None  # Radiopaedia's diagnostic certainty
    text: str = ""  # all the case's text, for free-text field extraction
    evidence: dict[str, str] = field(default_factory=dict)  # field -> words it came from
    language: str | None = None  # of the case text, when the page says (SIRM's English mirror)
    matched: dict[str, str] = field(default_factory=dict)  # field -> markup form that matched


@dataclass
class ListingPage:
    """One page of a site's search or listing: case links and the next page."""

    cases: list[dict[str, str | None]]  # {"url", "title", "date"}
    next_url: str | None


# Elements that break lines: their text is kept apart from their neighbours'.
_BLOCKS = ("p", "div", "li", "ul", "ol", "tr", "td", "th", "table", "section", "article",
           "header", "footer", "aside", "nav", "main", "figure", "figcaption", "blockquote",
           "h1", "h2", "h3", "h4", "h5", "h6", "dd", "dt", "pre")  # fmt: skip


def soup_of(html: str) -> BeautifulSoup:
    """The page parsed, without scripts and styles, with line breaks around blocks.

    An <img> inside <noscript> (where lazy loaders keep the real one) stays in the page."""
    soup = BeautifulSoup(html, "html.parser")
    for noscript in soup.find_all("noscript"):
        for img in noscript.find_all("img"):
            noscript.insert_before(img.extract())
    for tag in soup.find_all(_NOT_TEXT):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(_BLOCKS):
        block.insert_before("\n")
        block.insert_after("\n")
    return soup


def clean_text(text: str | None) -> str:
    """Plain text: control characters removed, runs of blanks folded, blank lines dropped."""
    if not text:
        return ""
    text = _CONTROL.sub(" ", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def text_of(node: Tag | None) -> str:
    """The element's text, never its markup: one line per block (see `soup_of`)."""
    if node is None:
        return ""
    return clean_text(node.get_text())


def one_line(text: str | None) -> str:
    return " ".join(clean_text(text).split())


def require(node: Any, site: str, url: str, missing: str) -> Any:
    """`node` itself, or LayoutChanged naming what the page lacks."""
    if node is None or node == [] or node == "":
        raise LayoutChanged(site, url, missing)
    return node


def select_first(root: Tag, selectors: str | tuple[str, ...]) -> Tag | None:
    """The first element matching any of the selectors, tried in order."""
    for selector in (selectors,) if isinstance(selectors, str) else selectors:
        found = root.select_one(selector)
        if found is not None:
            return found
    return None


def search_url_for(base: str, path_template: str, query: str) -> str:
    """The site's search address: its base URL plus its path with the query filled in."""
    return base.rstrip("/") + path_template.format(query=quote_plus(query))


def next_page_url(soup: Tag, selectors: str | tuple[str, ...], url: str) -> str | None:
    """The absolute address of a listing's next page, or None on the last page."""
    link = select_first(soup, selectors)
    href = link.get("href") if link is not None else None
    return urljoin(url, str(href)) if href else None


def link_text(link: Tag) -> str | None:
    return one_line(link.get_text()) or None


def listing_page(
    soup: Tag,
    url: str,
    links: Iterable[Tag],
    case_url_of: Callable[[str], str | None],
    next_selectors: str | tuple[str, ...],
    *,
    title_of: Callable[[Tag], str | None] = link_text,
    date_of: Callable[[Tag, str], str | None] | None = None,
    fill_missing_title: bool = False,
) -> ListingPage:
    """A listing's case links, each case once in page order: `case_url_of` gives a link's
    canonical case address (None for links that are not cases); the date is the link's
    <time> unless `date_of(link, case_url)` says otherwise."""
    cases: dict[str, dict[str, str | None]] = {}
    for link in links:
        href = link.get("href")
        case_url = case_url_of(urljoin(url, str(href))) if href else None
        if case_url is None:
            continue
        title = title_of(link)
        date_ = date_of(link, case_url) if date_of else time_of(link)
        entry = cases.setdefault(case_url, {"url": case_url, "title": title, "date": date_})
        if fill_missing_title and not entry["title"] and title:
            entry["title"] = title
    return ListingPage(list(cases.values()), next_page_url(soup, next_selectors, url))


def time_of(node: Tag) -> str | None:
    """The ISO date of the first <time> inside `node` (its datetime attribute or text)."""
    found = node.find("time")
    if found is None:
        return None
    return iso_date(found.get("datetime") or found.get_text())


def select_all(root: Tag, selectors: str | tuple[str, ...]) -> list[Tag]:
    """The elements matching the first of the selectors that matches any."""
    for selector in (selectors,) if isinstance(selectors, str) else selectors:
        found = root.select(selector)
        if found:
            return list(found)
    return []


# Markers of a bot check or captcha instead of the page asked for.
CAPTCHA_MARKERS = (
    re.compile(r"g-recaptcha|h-captcha|hcaptcha\.com|cf-turnstile|challenge-platform", re.I),
    re.compile(r"please wait while your request is being verified|checking your browser|"
               r"enable javascript and cookies to continue|cf-chl|_cf_chl_opt", re.I),
    re.compile(r"<title>\s*(just a moment|attention required|access denied)", re.I),
    re.compile(r"\b(verify|prove) (that )?you are (a )?human\b", re.I),
    re.compile(r"<title>[^<]{0,60}captcha", re.I),
)


def looks_like_captcha(text: str) -> bool:
    head = text[:200_000]
    return any(marker.search(head) for marker in CAPTCHA_MARKERS)


_DATE_FORMATS = (
    "%Y-%m-%d",
    "%d.%m.%Y",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d/%m/%Y",
)


def iso_date(text: str | None) -> str | None:
    """ "10 Mar 2020", "2020-03-10T09:00:00Z", "March 10, 2020" -> "2020-03-10"."""
    if not text:
        return None
    text = one_line(text)
    match = re.search(r"\d{4}-\d{2}-\d{2}", text)
    if match:
        return match.group(0)
    for fmt in _DATE_FORMATS:
        for candidate in (text, text.split(",")[0] if fmt.startswith("%d") else text):
            try:
                return datetime.strptime(candidate.strip(), fmt).date().isoformat()
            except ValueError:
                continue
    return None


def parse_since(text: str) -> date:
    """A --since value: YYYY-MM-DD."""
    return date.fromisoformat(text)


@dataclass(frozen=True)
class CaseSite:
    """A case site as one declaration: its name, licence and language, how a case page is
    read (and fetched, when it needs more than the page), and how its search listing is
    paged. Each site module declares one `CASE_SITE`; the plumbing lives here."""

    name: str
    license: str | None
    language: str | None  # of the case text; None: detect
    search_path: str  # the search address below the base URL, with {query}
    canonical_url: Callable[[str], str]
    case_url_of: Callable[[str], str | None]  # a listing link's case address, or None
    parse_case: Callable[[str, str], CasePage]
    listing_links: str | tuple[str, ...]
    next_page: str | tuple[str, ...]
    # The block holding the search results, by form in order: links are taken only there.
    listing_results: tuple[str, ...] = ("main",)
    # A page whose images take more requests (Radiopaedia's stacks) fetches itself.
    fetch: Callable[[str, SiteFetcher], CasePage] | None = None
    listing_title: Callable[[Tag], str | None] = link_text
    listing_date: Callable[[Tag, str], str | None] | None = None
    # A case linked more than once (title, "read more", an image) takes the first title given.
    fill_missing_title: bool = False
    # Other hosts serving the site's cases, as subdomains of its configured host ("archivio").
    mirror_subdomains: tuple[str, ...] = ()

    def fetch_case(self, url: str, fetcher: SiteFetcher) -> CasePage:
        if self.fetch is not None:
            return self.fetch(url, fetcher)
        return fetcher.parse(self.name, url, self.parse_case)

    def search_url(self, base: str, query: str) -> str:
        return search_url_for(base, self.search_path, query)

    def parse_listing(self, html: str, url: str) -> ListingPage:
        """The case links of the results block only (never a sidebar, a "case of the week",
        related lists or the footer); LayoutChanged when the page has no results block."""
        soup = soup_of(html)
        next_url = next_page_url(soup, self.next_page, url)
        strip_chrome(soup)
        results = select_first(soup, self.listing_results)
        if results is None:
            tried = ", ".join(f"`{selector}`" for selector in self.listing_results)
            raise LayoutChanged(self.name, url, f"no search results block (tried {tried})")
        listing = listing_page(
            results,
            url,
            select_all(results, self.listing_links),
            self.case_url_of,
            self.next_page,
            title_of=self.listing_title,
            date_of=self.listing_date,
            fill_missing_title=self.fill_missing_title,
        )
        listing.next_url = next_url  # pagination is often a <nav>, chrome to everything else
        return listing
