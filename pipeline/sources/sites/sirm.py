"""SIRM COVID-19 case posts: sirm.org/<yyyy>/<mm>/<dd>/covid-19-caso-<n>/ in Italian, the
English mirror sirm.org/en/<yyyy>/<mm>/<dd>/covid-19-case-<n>/, and archivio.sirm.org.

Only the addresses are confirmed; the rest is what a WordPress post looks like (see SITES.md),
so each field lists the common theme forms in order (`WAYS`). The post's images are every
upload in its content, whatever gallery form holds them; its notes are the content's prose,
without the captions, the credit line, and the post's chrome (date line, counters, buttons).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from pipeline.sources.sites.base import (
    CaseImage,
    CasePage,
    CaseSite,
    iso_date,
    legend_image,
    one_line,
    soup_of,
    text_of,
)
from pipeline.sources.sites.forms import Reading, Way
from pipeline.sources.sites.scope import (
    caption_of,
    image_address,
    image_item,
    is_foreign_image,
    prune_other_cases,
    strip_chrome,
)
from pipeline.sources.sites.vocab import finding_name

if TYPE_CHECKING:
    from bs4 import Tag

SITE = "sirm"
LICENSE = None  # SIRM states none: the collection left it blank

WAYS: dict[str, tuple[Way, ...]] = {
    "title": (
        Way("2020", "h1.entry-title"),
        Way("newspaper", "h1.td-post-title, h1.tdb-title-text"),
        Way("2025", "h1.post-title, h1.elementor-heading-title"),
        Way("any", "article h1, main h1"),
    ),
    "content": (
        Way("2020", "div.entry-content", read=lambda node: node),
        Way("newspaper", "div.td-post-content", read=lambda node: node),
        Way("2025", "div.post-content, div.elementor-widget-theme-post-content",
            read=lambda node: node),
        Way("any", "article", read=lambda node: node),
    ),  # fmt: skip
    "author": (
        Way("2020", "a[rel='author']"),
        Way("any", ".author-name, .td-post-author-name a, .author a"),
    ),
    "date": (Way("2020", "time[datetime]", attr="datetime"),),
}
SELECTORS = {
    # a listing's entries are posts (WordPress's <article>); bare links only when there are none
    "listing_link": ("article a[href]", ".post a[href]", "a[href]"),
    "listing_results": ("main", "#primary", "#content", ".site-content"),
    "next_page": ("a.next.page-numbers", "a[rel='next']", "link[rel='next']", ".nav-previous a"),
}
TEXT_BLOCKS = ("p", "h2", "h3", "h4", "h5", "li", "blockquote", "td")
# Where a post's captions live (figure and gallery markup, WordPress's caption shortcode):
# their words are the images' legends, not the notes.
CAPTION_CONTAINERS = ("figure", "dl", ".wp-caption")
UPLOADS = "/wp-content/uploads/"
CASE_PATH = re.compile(
    r"^/(?P<lang>en/)?(\d{4})/(\d{2})/(\d{2})/(covid-19-(?:caso|case)-\d+[-\w]*)/?$", re.I
)
SEARCH_PATH = "/?s={query}"
# WordPress keeps the upload and writes "-<w>x<h>" resized copies beside it.
RESIZED_SUFFIX = re.compile(r"-\d{2,5}x\d{2,5}(?=\.[A-Za-z0-9]{2,5}$)")
IMAGE_FILE = re.compile(r"\.(?:jpe?g|png|gif|webp|tiff?|bmp)$", re.I)
CREDIT_LINE = re.compile(
    r"^\s*(?:caso\s+|case\s+)?(?:a\s+cura\s+d[ie]|fonte|autor[ei]|credits?|courtesy|"
    r"per\s+gentile\s+concessione|contributo|caso\s+fornito|provided\s+by|authors?\b|source\b)",
    re.I,
)
# A short line of at most one word is no sentence: a date, a view counter, a lone name.
CHROME_LINE_MAX = 40
WORD = re.compile(r"[^\W\d_]+")
LINKED = 0.5  # a block whose text is mostly links is a button row or a list of other posts


def canonical_url(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def is_case_url(url: str) -> bool:
    return bool(CASE_PATH.match(urlsplit(url).path))


def case_date(url: str) -> str | None:
    match = CASE_PATH.match(urlsplit(url).path)
    return "-".join(match.group(2, 3, 4)) if match else None


def original_upload(url: str) -> str:
    """The uploaded file a resized "-<w>x<h>" copy was made from."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=RESIZED_SUFFIX.sub("", parts.path), query=""))


def _language(soup: Tag, url: str) -> str:
    """The post's language: the page's lang attribute, else the address (/en/ is English)."""
    html = soup.find("html")
    lang = str(html.get("lang", "")).lower()[:2] if html is not None else ""
    if lang in ("en", "it"):
        return lang
    match = CASE_PATH.match(urlsplit(url).path)
    return "en" if match and match.group("lang") else "it"


def _upload_of(img: Tag, page_url: str) -> str | None:
    """The upload an <img> shows: the linked original, else the widest srcset entry, else
    the lazy or plain src; None for anything not under wp-content/uploads."""
    link = img.find_parent("a")
    href = link.get("href") if link is not None else None
    candidates = []
    if isinstance(href, str) and UPLOADS in href:
        candidates.append(image_address(link, page_url, attributes=("href",)))
    candidates.append(image_address(img, page_url, prefer_srcset=True))
    for address in candidates:
        if address and UPLOADS in address and IMAGE_FILE.search(urlsplit(address).path):
            return address
    return None


def _link_share(node: Tag) -> float:
    text = len(one_line(node.get_text(" ")))
    linked = sum(len(one_line(link.get_text(" "))) for link in node.find_all("a"))
    return linked / text if text else 1.0


def _is_prose(node: Tag) -> bool:
    """Words of the case: not a date line, counter, lone name, or row of links."""
    text = one_line(node.get_text(" "))
    if not text or _link_share(node) >= LINKED:
        return False
    return len(WORD.findall(text)) > 1 or len(text) > CHROME_LINE_MAX


def _in_caption(node: Tag) -> bool:
    return any(parent.css.match(", ".join(CAPTION_CONTAINERS)) for parent in node.parents
               if parent.name)  # fmt: skip


def parse_case(html: str, url: str) -> CasePage:
    soup = soup_of(html)
    language = _language(soup, url)
    strip_chrome(soup)
    reading = Reading(SITE, url)
    title_node = reading.find("title", soup, WAYS["title"], required=True).node
    title = one_line(title_node.get_text(" "))
    content = reading.find("content", soup, WAYS["content"], required=True).node
    prune_other_cases(soup.body or soup, url, _is_other_case(url), keep=[title_node, content])
    images = _images(content, url)
    if not images:
        reading.missing(f"image under {UPLOADS} in the post content", WAYS["content"])
    blocks = [
        text_of(node)
        for node in content.find_all(TEXT_BLOCKS)
        if node.find_parent(TEXT_BLOCKS) is None and not _in_caption(node) and _is_prose(node)
    ]
    blocks = list(dict.fromkeys(block for block in blocks if block))
    credit_lines = [block for block in blocks if CREDIT_LINE.match(block)]
    story = [block for block in blocks if block not in credit_lines]
    author = reading.find("author", soup, WAYS["author"])
    credit = "; ".join(credit_lines) or (author.value if author else "")
    credit = "; ".join(filter(None, [credit.rstrip(" ."), f"SIRM, {title}"]))
    date_found = reading.find("date", soup, WAYS["date"])
    history = "\n".join(story) or None
    finding, diagnosis = finding_name(title, history)
    return CasePage(
        site=SITE,
        url=url,
        title=title,
        finding=finding,
        diagnosis=diagnosis,
        clinical_history=history,
        images=images,
        credit=credit,
        license=LICENSE,
        date=case_date(url) or (iso_date(date_found.value) if date_found else None),
        text="\n".join([title, *story]),
        language=language,
        matched=reading.matched,
    )


def _is_other_case(url: str) -> Callable[[str], bool]:
    own = canonical_url(url)
    return lambda address: is_case_url(address) and canonical_url(address) != own


def _images(content: Tag, page_url: str) -> list[CaseImage]:
    """Every upload shown in the post, once, with the words of its own item (a gallery
    item, a captioned figure, a block) or else the nearest prose before it."""
    shown = {id(img): _upload_of(img, page_url) for img in content.find_all("img")}
    is_case_image = lambda img: bool(shown.get(id(img))) and not is_foreign_image(img, page_url)  # noqa: E731
    images: list[CaseImage] = []
    seen: set[str] = set()
    for img in content.find_all("img"):
        if not is_case_image(img):
            continue
        address = shown[id(img)]
        original = original_upload(address)
        if original in seen:
            continue
        seen.add(original)
        item = image_item(img, content, is_case_image)
        legend = _shared_caption(item, content, caption_of(item)) or _prose_before(img, content)
        images.append(legend_image(original, address, legend))
    return images


def _shared_caption(item: Tag, content: Tag, own: str | None) -> str | None:
    """The item's words with a gallery's shared <figcaption> before them."""
    for parent in item.parents:
        if parent is content or parent is None:
            break
        shared = parent.find("figcaption", recursive=False)
        if shared is not None and not any(p is item for p in shared.parents):
            words = one_line(shared.get_text(" "))
            return " ".join(filter(None, [words, own])) or None
    return own


def _prose_before(img: Tag, content: Tag) -> str | None:
    """The nearest prose before an uncaptioned image, within the post."""
    for previous in img.find_all_previous(TEXT_BLOCKS):
        if not any(parent is content for parent in previous.parents):
            break
        if _in_caption(previous) or not _is_prose(previous):
            continue
        if not CREDIT_LINE.match(text_of(previous)):
            return text_of(previous)
    return None


CASE_SITE = CaseSite(
    name=SITE,
    license=LICENSE,
    language="it",
    search_path=SEARCH_PATH,
    canonical_url=canonical_url,
    case_url_of=lambda address: canonical_url(address) if is_case_url(address) else None,
    parse_case=parse_case,
    listing_links=SELECTORS["listing_link"],
    listing_results=SELECTORS["listing_results"],
    next_page=SELECTORS["next_page"],
    listing_date=lambda _link, case_url: case_date(case_url),
    # a post is linked more than once (title, "continua a leggere", an image without text)
    fill_missing_title=True,
    mirror_subdomains=("archivio",),
)
