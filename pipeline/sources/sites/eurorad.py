"""Eurorad case pages (eurorad.org/case/<number>, also /case/<number>/teaching-case).

Each field is read by the first of its ways (`WAYS`: the 2020 case layout, the teaching-case
layout, the 2025 gallery) that matches; the form that matched is recorded for the run report.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit, urlunsplit

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
    container_of,
    image_address,
    is_foreign_image,
    prune_other_cases,
    strip_chrome,
)
from pipeline.sources.sites.vocab import age_years, finding_name, sex_name

if TYPE_CHECKING:
    from bs4 import Tag

SITE = "eurorad"
LICENSE = "CC BY-NC-SA 4.0"
HEADING_MAX = 60  # a section heading is short; a longer "heading" is a column of text


def _column_section(heading: Tag) -> tuple[str, str] | None:
    """2020: `div.row` > `div.col-12.col-md-3` (heading) + sibling `div.col-12.col-md-9`."""
    body = heading.find_next_sibling("div", class_="col-md-9")
    name = one_line(heading.get_text(" "))
    if body is None or not 0 < len(name) <= HEADING_MAX:
        return None
    return name.upper(), text_of(body)


def _heading_section(heading: Tag) -> tuple[str, str] | None:
    """2025: a heading and the elements after it, up to the next heading of its rank."""
    name = one_line(heading.get_text(" "))
    if not 0 < len(name) <= HEADING_MAX:
        return None
    texts = []
    for sibling in heading.find_next_siblings():
        if sibling.name in ("h1", "h2", "h3") and sibling.name <= heading.name:
            break
        texts.append(text_of(sibling))
    text = "\n".join(part for part in texts if part)
    return (name.upper(), text) if text else None


AGE_SEX = r"^(\d{1,3}\s*(?:years?(?: old)?)?\s*,\s*(?:male|female))\b"
WAYS: dict[str, tuple[Way, ...]] = {
    "title": (Way("2020", "h1.case-title"), Way("2025", "main h1, article h1")),
    "age and sex": (
        Way("2020", "p.color-grey", pattern=r"^(\d{1,3}\s*,\s*(?:male|female))\b"),
        Way("2023", "p.color-grey", pattern=AGE_SEX),
        Way("any", "p, span, div, li", pattern=AGE_SEX + r"\s*$"),
    ),
    "sections": (
        Way("2020", "div.row > div.col-12.col-md-3", read=_column_section),
        Way("2025", "h2, h3", read=_heading_section),
    ),
    "figures": (
        Way("2020", ".figure-gallery__item", read=lambda node: node),
        Way("2025", "figure:has(img.figure-image-lazy)", read=lambda node: node),
    ),
    # inside one figure
    "figure image": (
        Way("2020", "img[typeof='foaf:Image']", read=lambda node: node),
        Way("2025", "img.figure-image-lazy", read=lambda node: node),
    ),
    "full-size image": (
        Way("2025", "img.figure-modal-lazy[data-src*='/styles/figure_image/']", attr="data-src"),
    ),
    "figure legend": (
        Way("2020", ".figure-gallery__item__label span.mb-1.d-block"),
        Way("2025", "figcaption"),
    ),
    "authors": (
        Way("2020", ".case-authors"),
        Way("2025", ".authors, .field--name-field-authors"),
    ),
}
SELECTORS = {
    "search_result": "a[href*='/case/']",
    "search_results": (".search-results", ".view-content", "main"),
    "next_page": ("div.pagination a[title='Go to next page']", "a[rel='next']"),
}
# Which sections are the patient's history (the notes), in either layout; the rest
# (discussion, background, differential list) is about the disease, not this patient.
HISTORY_HEADINGS = ("CLINICAL HISTORY", "CLINICAL PERSPECTIVE", "OUTCOME")
DIAGNOSIS_HEADINGS = ("FINAL DIAGNOSIS",)
TEACHING_HEADINGS = ("CLINICAL PERSPECTIVE", "IMAGING PERSPECTIVE", "TAKE-HOME MESSAGE")
# The teaser style's address, and its query token: the full-size file has neither.
RESIZED_MARK = re.compile(r"(/styles/figure_image)_teaser_large(/)")
SEARCH_PATH = "/advanced-search?search={query}"
CASE_PATH = re.compile(r"^/case/(\d+)(?:/teaching-case)?/?$")
TITLE_NOISE = re.compile(r"^\s*eurorad\s*[-:|]\s*|\s*[-|]\s*eurorad\s*$", re.I)


def canonical_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def case_number(url: str) -> str | None:
    match = CASE_PATH.match(urlsplit(url).path)
    return match.group(1) if match else None


def full_size(url: str) -> str:
    """The full-size file behind a gallery teaser: the teaser style and `?itok` removed."""
    parts = urlsplit(RESIZED_MARK.sub(r"\1\2", url))
    return urlunsplit(parts._replace(query=""))


def _is_other_case(url: str) -> Callable[[str], bool]:
    own = case_number(url)
    return lambda address: case_number(address) not in (None, own)


def _title(soup: Tag, reading: Reading) -> tuple[str, Tag | None]:
    found = reading.find("title", soup, WAYS["title"])
    if found is not None:
        return found.value, found.node
    page_title = soup.find("title")
    title = TITLE_NOISE.sub("", one_line(page_title.get_text())) if page_title else ""
    if not title:
        reading.missing("case title", WAYS["title"] + (Way("2019", "title"),))
    reading.note("title", "2019")
    return title, None


def parse_case(html: str, url: str) -> CasePage:
    soup = soup_of(html)
    strip_chrome(soup)
    reading = Reading(SITE, url)
    title, title_node = _title(soup, reading)
    age_sex = reading.find("age and sex", soup, WAYS["age and sex"], required=True)
    section_matches = reading.every("sections", soup, WAYS["sections"], required=True)
    anchors = [title_node, age_sex.node, *(match.node for match in section_matches)]
    case = container_of(anchors) or soup
    prune_other_cases(soup.body or soup, url, _is_other_case(url), keep=anchors)
    sections: dict[str, str] = {}
    for match in section_matches:
        name, text = match.value
        sections.setdefault(name, text)
    if any(name in sections for name in TEACHING_HEADINGS):
        reading.matched["sections"] = "teaching-case"  # the row form, the teaching headings
    figures = reading.every("figures", soup, WAYS["figures"], required=True)
    images = [image for match in figures for image in _figure_images(match.node, url, reading)]
    if not images:
        reading.missing("figure image address", WAYS["figure image"])
    history = _joined(sections, HISTORY_HEADINGS)
    finding, diagnosis = finding_name(_joined(sections, DIAGNOSIS_HEADINGS), title)
    number = case_number(url)
    authors = reading.find("authors", case, WAYS["authors"])
    names = re.sub(r"^authors?\s*:?\s*", "", authors.value, flags=re.I) if authors else ""
    credit = ", ".join(
        filter(None, [f"Case courtesy of {names}" if names else None, "Eurorad.org",
                      f"case {number}" if number else None])
    )  # fmt: skip
    case_text = case.get_text(" ")
    doi = re.search(r"\bDOI:?\s*(10\.\d{4,9}/[^\s<>\"]+)", case_text, re.I)
    published = re.search(r"Published(?: on)?:?\s*([0-9][0-9./-]+[0-9])", case_text, re.I)
    return CasePage(
        site=SITE,
        url=url,
        title=title,
        age=age_years(age_sex.value),
        sex=sex_name(age_sex.value),
        finding=finding,
        diagnosis=diagnosis,
        clinical_history=history,
        images=images,
        credit=credit,
        license=LICENSE,
        doi=doi.group(1).rstrip(".,;") if doi else None,
        date=iso_date(published.group(1)) if published else None,
        text="\n".join(filter(None, [title, age_sex.value, *sections.values()])),
        evidence={"age": age_sex.value, "sex": age_sex.value,
                  **({"finding": diagnosis} if diagnosis else {})},  # fmt: skip
        matched=reading.matched,
    )


def _joined(sections: dict[str, str], headings: tuple[str, ...]) -> str | None:
    """The sections named by `headings`, in page order."""
    texts = [text for name, text in sections.items() if any(h in name for h in headings)]
    return "\n".join(text for text in texts if text) or None


def _figure_images(figure: Tag, page_url: str, reading: Reading) -> list[CaseImage]:
    legend_match = reading.find("figure legend", figure, WAYS["figure legend"])
    legend = legend_match.value if legend_match else caption_of(figure)
    full = reading.find("full-size image", figure, WAYS["full-size image"])
    images = []
    for match in reading.every("figure image", figure, WAYS["figure image"]):
        shown = image_address(match.node, page_url)
        if shown is None or is_foreign_image(match.node, page_url):
            continue
        url = full_size(urljoin(page_url, full.value) if full else shown)
        images.append(legend_image(url, shown, legend))
    return images


CASE_SITE = CaseSite(
    name=SITE,
    license=LICENSE,
    language=None,
    search_path=SEARCH_PATH,
    canonical_url=canonical_url,
    case_url_of=lambda address: canonical_url(address) if case_number(address) else None,
    parse_case=parse_case,
    listing_links=SELECTORS["search_result"],
    listing_results=SELECTORS["search_results"],
    next_page=SELECTORS["next_page"],
)
