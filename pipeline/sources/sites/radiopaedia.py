"""Radiopaedia case pages (radiopaedia.org/cases/<slug>) and their stacks JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from pipeline.errors import SourceError
from pipeline.sources.sites.base import (
    CaseImage,
    CasePage,
    CaseSite,
    LayoutChanged,
    iso_date,
    link_text,
    one_line,
    require,
    select_first,
    soup_of,
    text_of,
)
from pipeline.sources.sites.vocab import age_years, finding_name, modality_name, sex_name, view_name

if TYPE_CHECKING:
    from pipeline.sources.sites.fetcher import SiteFetcher

SITE = "radiopaedia"
LICENSE = "CC BY-NC-SA"

# Everything this module knows of the site's markup and addresses, in one place.
SELECTORS = {
    "title": "#content-header h1.header-title",
    "header": "#content-header",
    "author": (
        "#content-header .author-info a[href*='/users/']",
        "#content-header a[href*='/users/']",
        ".case-contributor a[href*='/users/']",
        ".author-info a[href*='/users/']",
    ),
    "certainty": "span.diagnostic-certainty-title",
    "patient_data": "#case-patient-data",
    "patient_item": "div.data-item",
    "presentation": "#case-patient-presentation p",
    "study": "div.case-section.case-study",
    "study_findings": ".study-findings",
    "study_modality": ".study-modality span",
    "study_description": "div.study-desc h2",
    "search_result": "a.search-result-case",
    "search_result_title": (".search-result-title", "h4", "h3", ".title"),
    "next_page": ("a.next_page", "a[rel='next']"),
}
STACKS_PATHS = ("/studies/{id}/stacks?lang=us", "/studies/{id}/annotated_viewer_json?lang=us")
SEARCH_PATH = "/search?q={query}&scope=cases"
CASE_PATH = re.compile(r"^/cases/[^/?#]+")
# Image keys, best first: the original upload before the resized gallery copy.
FULL_SIZE_KEYS = ("public_filename", "download_image_url")
RESIZED_KEYS = ("fullscreen_filename", "large_filename", "thumbnail_filename")


@dataclass
class Study:
    id: str
    stacks_url: str | None
    modality: str | None  # the page's word: "X-ray", "CT", ...
    findings: str
    description: str


def canonical_url(url: str) -> str:
    """The case address without query or fragment (?lang=us and friends)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def is_case_url(url: str) -> bool:
    return bool(CASE_PATH.match(urlsplit(url).path))


def _header_values(header: Any) -> dict[str, str]:
    """The header's "<strong>Label:</strong> value" rows as {label: value}."""
    values: dict[str, str] = {}
    for strong in header.find_all("strong"):
        label = one_line(strong.get_text()).rstrip(":").strip()
        row = strong.parent
        row_text = one_line(row.get_text()) if row is not None else ""
        value = row_text.split(one_line(strong.get_text()), 1)[-1].strip(" :")
        if label and label not in values:
            values[label] = value
    return values


def _credit(author: str | None, rid: str | None) -> str:
    if author and not re.match(r"(?i)(dr|prof|a/?\.?prof|assoc)\b", author):
        author = f"Dr {author}"
    parts = [f"Case courtesy of {author}" if author else "Case courtesy of Radiopaedia.org"]
    if author:
        parts.append("Radiopaedia.org")
    if rid:
        parts.append(f"rID: {rid}")
    return ", ".join(parts)


def parse_case(html: str, url: str) -> tuple[CasePage, list[Study]]:
    """The page's facts and its studies; images come from each study's stacks JSON."""
    soup = soup_of(html)
    missing_title = f"no case title ({SELECTORS['title']})"
    title = text_of(require(soup.select_one(SELECTORS["title"]), SITE, url, missing_title))
    patient = require(
        soup.select_one(SELECTORS["patient_data"]), SITE, url, "no #case-patient-data"
    )
    facts: dict[str, str] = {}
    for item in patient.select(SELECTORS["patient_item"]):
        strong = item.find("strong")
        if strong is None:
            continue
        label = one_line(strong.get_text()).rstrip(":").lower()
        value = one_line(item.get_text()).split(one_line(strong.get_text()), 1)[-1]
        facts[label] = value.strip(" :")
    if not facts:
        raise LayoutChanged(SITE, url, "no div.data-item in #case-patient-data")
    header = soup.select_one(SELECTORS["header"])
    head = _header_values(header) if header is not None else {}
    rid = head.get("rID") or _first(r"rID:?\s*(\d+)", text_of(header))
    author_node = select_first(soup, SELECTORS["author"])
    author = one_line(author_node.get_text()) if author_node is not None else None
    certainty_node = soup.select_one(SELECTORS["certainty"])
    certainty = one_line(certainty_node.get_text()) if certainty_node is not None else None
    history = "\n".join(filter(None, (text_of(p) for p in soup.select(SELECTORS["presentation"]))))
    studies = [_study(node, url) for node in soup.select(SELECTORS["study"])]
    if not studies:
        raise LayoutChanged(SITE, url, f"no studies ({SELECTORS['study']})")
    age_text, sex_text = facts.get("age"), facts.get("gender") or facts.get("sex")
    finding, diagnosis = finding_name(title)
    doi = _first(r"(10\.\d{4,9}/\S+)", head.get("DOI", ""))
    text = "\n".join(filter(None, [title, history, *(study.findings for study in studies)]))
    page = CasePage(
        site=SITE,
        url=url,
        title=title,
        age=age_years(age_text),
        sex=sex_name(sex_text),
        finding=finding,
        diagnosis=diagnosis,
        clinical_history=history or None,
        credit=_credit(author, rid),
        license=LICENSE,
        doi=doi,
        date=iso_date(head.get("Published") or head.get("Article created")),
        certainty=certainty,
        text=text,
        evidence={
            key: value
            for key, value in {"age": age_text, "sex": sex_text, "finding": diagnosis}.items()
            if value
        },
    )
    return page, studies


def _first(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text or "")
    return match.group(1) if match else None


def _study(node: Any, page_url: str) -> Study:
    study_id = node.get("data-study-id")
    if not study_id:
        raise LayoutChanged(SITE, page_url, f"a study ({SELECTORS['study']}) has no data-study-id")
    stacks = node.get("data-study-stacks-url")
    modality = node.select_one(SELECTORS["study_modality"])
    return Study(
        id=str(study_id),
        stacks_url=urljoin(page_url, stacks) if stacks else None,
        modality=one_line(modality.get_text()) if modality is not None else None,
        findings=text_of(node.select_one(SELECTORS["study_findings"])),
        description=text_of(node.select_one(SELECTORS["study_description"])),
    )


def stacks_urls(study: Study, page_url: str) -> list[str]:
    """The study's stacks JSON: the address the page gives, then the known forms."""
    urls = [study.stacks_url] if study.stacks_url else []
    urls += [urljoin(page_url, path.format(id=study.id)) for path in STACKS_PATHS]
    return list(dict.fromkeys(urls))


def _stacks(data: Any) -> Iterator[dict[str, Any]]:
    """Every object holding an "images" list, wherever the JSON form nests it."""
    if isinstance(data, dict):
        images = data.get("images")
        if isinstance(images, list) and any(isinstance(image, dict) for image in images):
            yield data
            return
        for value in data.values():
            yield from _stacks(value)
    elif isinstance(data, list):
        for value in data:
            yield from _stacks(value)


def parse_stacks(data: Any, study: Study, json_url: str) -> list[CaseImage]:
    """The images of one study from `/studies/<id>/stacks` or `annotated_viewer_json`."""
    images: list[CaseImage] = []
    for stack_index, stack in enumerate(_stacks(data)):
        stack_modality = stack.get("modality") or study.modality
        members = [image for image in stack["images"] if isinstance(image, dict)]
        members.sort(key=lambda image: _number(image.get("position"), 0))
        for position, image in enumerate(members):
            full = next((image[key] for key in FULL_SIZE_KEYS if image.get(key)), None)
            resized = next((image[key] for key in RESIZED_KEYS if image.get(key)), None)
            if not (full or resized):
                raise LayoutChanged(
                    SITE, json_url, f"an image has none of {', '.join(FULL_SIZE_KEYS)}"
                )
            modality = modality_name(image.get("modality") or stack_modality)
            words = [
                str(image[key])
                for key in ("plane_projection", "aux_modality")
                if isinstance(image.get(key), str) and image[key]
            ]
            if isinstance(image.get("position"), str):
                words.append(image["position"])
            images.append(
                CaseImage(
                    url=urljoin(json_url, full or resized),
                    page_url=urljoin(json_url, resized) if full and resized else None,
                    modality=modality,
                    view=view_name(modality, *words),
                    view_text=" ".join(words) or None,
                    study_findings=study.findings or None,
                    legend=study.description or None,
                    study=f"{study.id}/{stack.get('id', stack_index)}",
                    position=position,
                    stack_size=len(members),
                    full_resolution=bool(full),
                )
            )
    if not images:
        raise LayoutChanged(SITE, json_url, "no stack with images in the study's stacks JSON")
    return images


def _number(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def fetch_case(url: str, fetcher: SiteFetcher) -> CasePage:
    page, studies = fetcher.parse(SITE, url, parse_case)
    for study in studies:
        page.images.extend(_study_images(study, url, fetcher))
    return page


def _study_images(study: Study, page_url: str, fetcher: SiteFetcher) -> list[CaseImage]:
    last: Exception | None = None
    for json_url in stacks_urls(study, page_url):
        try:
            return fetcher.parse(SITE, json_url, partial(_stacks_answer, study))
        except SourceError as exc:  # only "not found" moves on to the next form
            if getattr(exc, "status", None) not in (404, 410):
                raise
            last = exc
    raise LayoutChanged(SITE, page_url, f"no stacks JSON for study {study.id} ({last})")


def _stacks_answer(study: Study, text: str, json_url: str) -> list[CaseImage]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise LayoutChanged(SITE, json_url, f"stacks answer is not JSON ({exc})") from exc
    return parse_stacks(data, study, json_url)


CASE_SITE = CaseSite(
    name=SITE,
    license=LICENSE,
    language=None,
    search_path=SEARCH_PATH,
    canonical_url=canonical_url,
    case_url_of=lambda address: canonical_url(address) if is_case_url(address) else None,
    parse_case=lambda html, url: parse_case(html, url)[0],
    fetch=fetch_case,
    listing_links=SELECTORS["search_result"],
    next_page=SELECTORS["next_page"],
    listing_title=lambda link: link_text(
        select_first(link, SELECTORS["search_result_title"]) or link
    ),
)
