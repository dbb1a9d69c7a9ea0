"""Eurorad case pages (eurorad.org/case/<number>)."""

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
from pipeline.sources.sites.vocab import (
    age_years,
    finding_name,
    modality_from_text,
    sex_name,
    view_name,
)

if TYPE_CHECKING:
    pass

SITE = "eurorad"
LICENSE = "CC BY-NC-SA 4.0"

SELECTORS = {
    "title": "title",
    "age_sex": "p.color-grey",
    "section": "div.row",
    "section_heading": "div.col-12.col-md-3",
    "section_text": "div.col-12.col-md-9",
    "figure": ".figure-gallery__item",
    "figure_image": "img[typeof='foaf:Image']",
    "figure_legend": ".figure-gallery__item__label span.mb-1.d-block",
    "authors": (".case-authors", ".authors", ".field--name-field-authors", ".author"),
    "search_result": "a[href*='/case/']",
    "next_page": "div.pagination a[title='Go to next page']",
}
# Lazy loading puts a data: placeholder in src and the real address in one of these.
IMAGE_ADDRESS_ATTRIBUTES = ("data-src", "data-lazy-src", "data-original", "data-srcset",
                            "srcset", "data-full", "src")  # fmt: skip
RESIZED_MARK = "_teaser_large"
SEARCH_PATH = "/advanced-search?search={query}"
CASE_PATH = re.compile(r"^/case/(\d+)/?$")
TITLE_NOISE = re.compile(r"^\s*eurorad\s*[-:|]\s*|\s*[-|]\s*eurorad\s*$", re.I)
AGE_SEX = re.compile(r"\d{1,3}.*\b(male|female|man|woman)\b|\b(male|female)\b.*\d{1,3}", re.I)
HISTORY_HEADINGS = ("CLINICAL HISTORY",)
DIAGNOSIS_HEADINGS = ("FINAL DIAGNOSIS",)
FINDINGS_HEADINGS = ("IMAGING FINDINGS",)


def canonical_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def case_number(url: str) -> str | None:
    match = CASE_PATH.match(urlsplit(url).path)
    return match.group(1) if match else None


def _sections(soup: Any) -> dict[str, str]:
    """{HEADING: text} of the case's `div.row` sections."""
    sections: dict[str, str] = {}
    for row in soup.select(SELECTORS["section"]):
        heading = row.select_one(SELECTORS["section_heading"])
        body = row.select_one(SELECTORS["section_text"])
        if heading is None or body is None:
            continue
        name = one_line(heading.get_text()).upper()
        if name and name not in sections:
            sections[name] = text_of(body)
    return sections


def image_address(img: Any, page_url: str) -> str | None:
    """The real address of a lazy-loaded image: never the data: placeholder."""
    for name in IMAGE_ADDRESS_ATTRIBUTES:
        value = img.get(name)
        if not value or not isinstance(value, str):
            continue
        first = value.strip().split(",")[0].split()[0] if value.strip() else ""
        if first and not first.startswith("data:"):
            return urljoin(page_url, first)
    return None


def full_size(url: str) -> str:
    return url.replace(RESIZED_MARK, "")


def parse_case(html: str, url: str) -> CasePage:
    soup = soup_of(html)
    title_node = require(soup.select_one(SELECTORS["title"]), SITE, url, "no <title>")
    title = TITLE_NOISE.sub("", one_line(title_node.get_text()))
    require(title, SITE, url, "an empty <title>")
    age_sex = next(
        (
            one_line(p.get_text())
            for p in soup.select(SELECTORS["age_sex"])
            if AGE_SEX.search(p.get_text())
        ),
        None,
    )
    require(age_sex, SITE, url, f"no age and sex line ({SELECTORS['age_sex']} '62, male')")
    sections = _sections(soup)
    if not sections:
        raise LayoutChanged(SITE, url, "no case sections (div.row with div.col-12.col-md-3)")
    figures = soup.select(SELECTORS["figure"])
    require(figures, SITE, url, f"no figures ({SELECTORS['figure']})")
    if not soup.select(SELECTORS["figure_legend"]):
        raise LayoutChanged(SITE, url, f"no figure legends ({SELECTORS['figure_legend']})")
    history = _section(sections, HISTORY_HEADINGS)
    diagnosis_text = _section(sections, DIAGNOSIS_HEADINGS)
    finding, diagnosis = finding_name(diagnosis_text, title)
    images = [image for figure in figures for image in _figure_images(figure, url)]
    if not images:
        raise LayoutChanged(SITE, url, f"no image address in {SELECTORS['figure_image']}")
    number = case_number(url)
    authors_node = select_first(soup, SELECTORS["authors"])
    authors = one_line(authors_node.get_text()) if authors_node is not None else ""
    authors = re.sub(r"^authors?\s*:?\s*", "", authors, flags=re.I)
    credit = ", ".join(
        filter(
            None,
            [
                f"Case courtesy of {authors}" if authors else None,
                "Eurorad.org",
                f"case {number}" if number else None,
            ],
        )
    )
    page_text = soup.get_text()
    doi = re.search(r"\bDOI:?\s*(10\.\d{4,9}/[^\s<>\"]+)", page_text, re.I)
    published = re.search(r"Published(?: on)?:?\s*([0-9][0-9./-]+[0-9])", page_text, re.I)
    return CasePage(
        site=SITE,
        url=url,
        title=title,
        age=age_years(age_sex),
        sex=sex_name(age_sex),
        finding=finding,
        diagnosis=diagnosis,
        clinical_history=history,
        images=images,
        credit=credit,
        license=LICENSE,
        doi=doi.group(1).rstrip(".,;") if doi else None,
        date=iso_date(published.group(1)) if published else None,
        text="\n".join(filter(None, [title, age_sex, *sections.values()])),
        evidence={"age": age_sex, "sex": age_sex, **({"finding": diagnosis} if diagnosis else {})},
    )


def _section(sections: dict[str, str], headings: tuple[str, ...]) -> str | None:
    for name, text in sections.items():
        if any(heading in name for heading in headings):
            return text or None
    return None


def _figure_images(figure: Any, page_url: str) -> list[CaseImage]:
    legend_node = figure.select_one(SELECTORS["figure_legend"])
    legend = text_of(legend_node) or None
    images = []
    for img in figure.select(SELECTORS["figure_image"]):
        shown = image_address(img, page_url)
        if shown is None:
            continue
        modality = modality_from_text(legend)
        images.append(
            CaseImage(
                url=full_size(shown),
                page_url=shown if full_size(shown) != shown else None,
                modality=modality,
                view=view_name(modality, legend),
                view_text=legend,
                legend=legend,
            )
        )
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
    next_page=SELECTORS["next_page"],
)
