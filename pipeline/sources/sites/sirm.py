"""SIRM COVID-19 case posts (sirm.org/<yyyy>/<mm>/<dd>/covid-19-caso-<n>/), in Italian.

Only the address pattern is confirmed; the rest is what a WordPress post usually looks
like (see SITES.md), so the selectors list the common theme variants in order.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from pipeline.sources.sites.base import (
    CaseImage,
    CasePage,
    CaseSite,
    LayoutChanged,
    iso_date,
    one_line,
    require,
    select_first,
    soup_of,
    text_of,
)
from pipeline.sources.sites.vocab import finding_name, modality_from_text, view_name

if TYPE_CHECKING:
    pass

SITE = "sirm"
LICENSE = None  # SIRM states none: the collection left it blank

SELECTORS = {
    "title": ("h1.entry-title", "h1.td-post-title", "h1.post-title", "article h1", "h1"),
    "content": ("div.entry-content", "div.td-post-content", "div.post-content", "article"),
    "image": "img",
    "caption": ("figcaption", ".wp-caption-text"),
    "text_block": ["p", "h2", "h3", "h4", "h5", "li", "figcaption"],
    # Inside the content block but not the case: sharing buttons, related posts, ads.
    "noise": ".sharedaddy, .sd-sharing, .jp-relatedposts, .addtoany_share_save_container, "
    ".yarpp-related, .wpcnt, .code-block",
    "figure": "figure, .wp-caption",
    "author": ("a[rel='author']", ".author-name", ".td-post-author-name a", ".author a"),
    "date": ("time.entry-date[datetime]", "time[datetime]"),
    "listing_link": "a[href]",
    "next_page": ("a.next.page-numbers", "a[rel='next']", "link[rel='next']", ".nav-previous a"),
}
UPLOADS = "/wp-content/uploads/"
CASE_PATH = re.compile(r"^/(\d{4})/(\d{2})/(\d{2})/(covid-19-caso-\d+[-\w]*)/?$", re.I)
SEARCH_PATH = "/?s={query}"
# WordPress keeps the upload and writes "-<w>x<h>" resized copies beside it.
RESIZED_SUFFIX = re.compile(r"-\d{2,5}x\d{2,5}(?=\.[A-Za-z0-9]{2,5}$)")
IMAGE_FILE = re.compile(r"\.(?:jpe?g|png|gif|webp|tiff?|bmp)$", re.I)
CREDIT_LINE = re.compile(
    r"^\s*(?:caso\s+)?(?:a\s+cura\s+d[ie]|fonte|autor[ei]|credits?|courtesy|"
    r"per\s+gentile\s+concessione|contributo|caso\s+fornito)",
    re.I,
)


def canonical_url(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def case_date(url: str) -> str | None:
    match = CASE_PATH.match(urlsplit(url).path)
    return "-".join(match.group(1, 2, 3)) if match else None


def original_upload(url: str) -> str:
    """The uploaded file a resized "-<w>x<h>" copy was made from."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=RESIZED_SUFFIX.sub("", parts.path), query=""))


def _image_address(img: Any, page_url: str) -> str | None:
    """The upload behind an <img>: the linked file, else the largest srcset entry, else src."""
    link = img.find_parent("a")
    href = link.get("href") if link is not None else None
    if href and UPLOADS in href and IMAGE_FILE.search(urlsplit(href).path):
        return urljoin(page_url, href)
    srcset = img.get("srcset") or img.get("data-srcset")
    if srcset:
        entries = [entry.split() for entry in srcset.split(",") if entry.strip()]
        widest = max(entries, key=lambda entry: _width(entry[1:]), default=None)
        if widest:
            return urljoin(page_url, widest[0])
    src = img.get("data-src") or img.get("data-lazy-src") or img.get("src")
    if src and not src.startswith("data:"):
        return urljoin(page_url, src)
    return None


def _width(descriptor: list[str]) -> int:
    if descriptor and descriptor[0].endswith("w") and descriptor[0][:-1].isdigit():
        return int(descriptor[0][:-1])
    return 0


def _image_text(img: Any, content: Any) -> str | None:
    """The caption of an image, or else the nearest text before it in the post."""
    figures = content.select(SELECTORS["figure"])
    figure = next((parent for parent in img.parents if parent in figures), None)
    if figure is not None:
        caption = select_first(figure, SELECTORS["caption"])
        if caption is not None and text_of(caption):
            return text_of(caption)
    block = img.find_parent(["p", "li"])
    if block is not None and text_of(block):
        return text_of(block)
    for previous in img.find_all_previous(SELECTORS["text_block"]):
        if content not in previous.parents:
            break
        if text_of(previous) and not CREDIT_LINE.match(text_of(previous)):
            return text_of(previous)
    return None


def parse_case(html: str, url: str) -> CasePage:
    soup = soup_of(html)
    title_node = require(select_first(soup, SELECTORS["title"]), SITE, url, "no post title (h1)")
    title = one_line(title_node.get_text())
    content = require(
        select_first(soup, SELECTORS["content"]), SITE, url, "no post content (div.entry-content)"
    )
    for noise in content.select(SELECTORS["noise"]):
        noise.decompose()
    in_figures = {
        id(node)
        for figure in content.select(SELECTORS["figure"])
        for node in figure.find_all(SELECTORS["text_block"])
    }
    blocks = [
        text_of(node)
        for node in content.find_all(SELECTORS["text_block"])
        if id(node) not in in_figures
    ]
    blocks = [block for block in dict.fromkeys(blocks) if block]
    credit_lines = [block for block in blocks if CREDIT_LINE.match(block)]
    story = [block for block in blocks if block not in credit_lines]
    images: list[CaseImage] = []
    seen: set[str] = set()
    for img in content.find_all(SELECTORS["image"]):
        shown = _image_address(img, url)
        if not shown or UPLOADS not in shown or not IMAGE_FILE.search(urlsplit(shown).path):
            continue
        original = original_upload(shown)
        if original in seen:
            continue
        seen.add(original)
        legend = _image_text(img, content)
        modality = modality_from_text(legend)
        images.append(
            CaseImage(
                url=original,
                page_url=shown if shown != original else None,
                modality=modality,
                view=view_name(modality, legend),
                view_text=legend,
                legend=legend,
            )
        )
    if not images:
        raise LayoutChanged(SITE, url, f"no images under {UPLOADS} in the post content")
    author = select_first(soup, SELECTORS["author"])
    credit = "; ".join(credit_lines) or (one_line(author.get_text()) if author else "")
    credit = "; ".join(filter(None, [credit.rstrip(" ."), f"SIRM, {title}"]))
    date_node = select_first(soup, SELECTORS["date"])
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
        date=case_date(url) or (iso_date(date_node.get("datetime")) if date_node else None),
        text="\n".join([title, *story]),
    )


CASE_SITE = CaseSite(
    name=SITE,
    license=LICENSE,
    language="it",
    search_path=SEARCH_PATH,
    canonical_url=canonical_url,
    case_url_of=lambda address: (
        canonical_url(address) if CASE_PATH.match(urlsplit(address).path) else None
    ),
    parse_case=parse_case,
    listing_links=SELECTORS["listing_link"],
    next_page=SELECTORS["next_page"],
    listing_date=lambda _link, case_url: case_date(case_url),
    # a post is linked more than once (title, "continua a leggere", an image without text)
    fill_missing_title=True,
)
