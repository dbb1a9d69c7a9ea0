"""Radiopaedia case pages (radiopaedia.org/cases/<slug>) and their stacks JSON.

Every field is read by the first of its ways that matches (the 2020, 2023 and 2025 markups of
SITES.md, declared in `WAYS`); the form that matched is recorded for the run report.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
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
    select_first,
    soup_of,
    text_of,
)
from pipeline.sources.sites.forms import Reading, Way, note_form
from pipeline.sources.sites.scope import container_of, prune_other_cases, strip_chrome
from pipeline.sources.sites.vocab import age_years, finding_name, modality_name, sex_name, view_name

if TYPE_CHECKING:
    from bs4 import Tag

    from pipeline.sources.sites.fetcher import SiteFetcher

SITE = "radiopaedia"
LICENSE = "CC BY-NC-SA"


def _row_2020(strong: Tag) -> tuple[str, str] | None:
    """`<div><strong>Label:</strong> value</div>`."""
    label = one_line(strong.get_text())
    row = one_line(strong.parent.get_text(" ")) if strong.parent is not None else ""
    value = row.split(label, 1)[-1].strip(" :")
    return (label.rstrip(":").strip(), value) if label and value else None


def _row_2023(strong: Tag) -> tuple[str, str] | None:
    """`<div class="col-sm-3"><strong>Label</strong></div><div class="col-sm-8">value</div>`."""
    value_node = strong.parent.find_next_sibling("div", class_="col-sm-8")
    label, value = one_line(strong.get_text()).rstrip(":"), text_of(value_node)
    return (label.strip(), one_line(value)) if label and value else None


def _row_2025(label_node: Tag) -> tuple[str, str] | None:
    """`<div class="data-item"><span class="data-item-label">Age</span> 70 years</div>`."""
    value_node = label_node.find_next_sibling(class_="data-item-value")
    label = one_line(label_node.get_text()).rstrip(":")
    if value_node is not None:
        value = one_line(value_node.get_text(" "))
    else:
        row = one_line(label_node.parent.get_text(" "))
        value = row.split(one_line(label_node.get_text()), 1)[-1]
    return (label.strip(), value.strip(" :")) if label and value.strip(" :") else None


def _text_without_headings(node: Tag) -> str | None:
    parts = [text_of(child) for child in node.find_all(["p", "li", "div"], recursive=False)]
    return "\n".join(part for part in parts if part) or None


def _hidden_json_study(node: Tag) -> str | None:
    """A study id in the `div.hidden.data` JSON (2025: it also carries caseId)."""
    try:
        data = json.loads(node.get_text())
    except ValueError:
        return None
    for key, value in _items(data):
        if re.fullmatch(r"(?i)study_?id", key) and str(value).isdigit():
            return str(value)
    return None


def _items(data: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield str(key), value
            yield from _items(value)
    elif isinstance(data, list):
        for value in data:
            yield from _items(value)


# Everything this module knows of the site's markup, each field's ways in order.
WAYS: dict[str, tuple[Way, ...]] = {
    "title": (
        Way("2020", "#content-header h1.header-title"),
        Way("2025", "h1.header-title"),
    ),
    "header": (
        Way("2023", "#content-header div.col-sm-3 > strong", read=_row_2023),
        Way("2020", "#content-header strong", read=_row_2020),
    ),
    "patient data": (
        Way("2025", ".data-item-label", read=_row_2025),
        Way("2020", "#case-patient-data div.data-item > strong", read=_row_2020),
    ),
    "author": (
        Way("2020", "#content-header .author-info a[href*='/users/']"),
        Way("2023", "#content-header a[href*='/users/']"),
        Way("2025", ".case-contributor a[href*='/users/'], .author-info a[href*='/users/']"),
    ),
    "certainty": (
        Way("2023", "span.diagnostic-certainty-title"),
        Way("2025", ".diagnostic-certainty-container"),
    ),
    "presentation": (
        Way("2020", "#case-patient-presentation p"),
        Way("2025", "#case-patient-presentation", read=_text_without_headings),
    ),
    "studies": (
        Way("2020", "div.case-section.case-study", read=lambda node: node),
        Way("2025", "div.case-study, section.case-study", read=lambda node: node),
    ),
    # inside one study
    "study id": (
        Way("2020", "[data-study-id]", attr="data-study-id", pattern=r"^(\d+)$"),
        Way("2020", "[data-ref]", attr="data-ref", pattern=r"^study-(\d+)$"),
        Way("2023", "div.main-study-desc[id]", attr="id", pattern=r"(\d+)"),
        Way("2024", "a.view-fullscreen-link[href]", attr="href", pattern=r"/studies/(\d+)"),
        Way("2025", "div.hidden.data", read=_hidden_json_study),
    ),
    "study stacks url": (Way("2020", "[data-study-stacks-url]", attr="data-study-stacks-url"),),
    "study page": (Way("2024", "a.view-fullscreen-link[href]", attr="href"),),
    "study findings": (Way("2020", ".study-findings"),),
    "study modality": (Way("2020", ".study-modality span"), Way("2025", ".study-modality")),
    "study description": (Way("2020", "div.main-study-desc"), Way("2019", "div.study-desc h2")),
}
SELECTORS = {
    "search_result": "a.search-result-case",
    "search_result_title": (".search-result-title", "h4", "h3", ".title"),
    "search_results": ("#search-results", ".search-results", "main"),
    "next_page": ("a.next_page", "a[rel='next']"),
}
HEADER_DATE_LABELS = ("Case published", "Published", "Article created")
STACKS_PATHS = ("/studies/{id}/stacks?lang=us", "/studies/{id}/annotated_viewer_json?lang=us")
STUDY_PAGE_PATH = "{case}/studies/{id}"
STACKED_IMAGES = re.compile(r"\bstackedImages\s*=\s*")
SEARCH_PATH = "/search?q={query}&scope=cases"
CASE_PATH = re.compile(r"^/cases/[^/?#]+/?$")
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
    page_url: str | None = None  # /cases/<case>/studies/<id>, whose script holds the stacks


def canonical_url(url: str) -> str:
    """The case address without query or fragment (?lang=us and friends)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def is_case_url(url: str) -> bool:
    return bool(CASE_PATH.match(urlsplit(url).path))


def _credit(author: str | None, rid: str | None) -> str:
    if author and not re.match(r"(?i)(dr|prof|a/?\.?prof|assoc)\b", author):
        author = f"Dr {author}"
    parts = [f"Case courtesy of {author}" if author else "Case courtesy of Radiopaedia.org"]
    if author:
        parts.append("Radiopaedia.org")
    if rid:
        parts.append(f"rID: {rid}")
    return ", ".join(parts)


def _labelled(matches: list[Any]) -> dict[str, str]:
    """(label, value) rows as {lower-case label: value}, the first of each label kept."""
    rows: dict[str, str] = {}
    for match in matches:
        label, value = match.value
        rows.setdefault(label.lower(), value)
    return rows


def parse_case(html: str, url: str) -> tuple[CasePage, list[Study]]:
    """The page's facts and its studies; images come from each study's stacks."""
    soup = soup_of(html)
    strip_chrome(soup)
    reading = Reading(SITE, url)
    title_node = reading.find("title", soup, WAYS["title"], required=True).node
    patient_rows = reading.every("patient data", soup, WAYS["patient data"], required=True)
    # the header first: its permalink (/cases/<rID>) is this case under another address
    head = _labelled(reading.every("header", soup, WAYS["header"]))
    header_node = title_node.find_parent(id="content-header") or title_node.parent
    rid = head.get("rid") or _first(r"rID:?\s*(\d+)", text_of(header_node))
    author = reading.find("author", soup, WAYS["author"])
    anchors = [title_node, *(m.node for m in patient_rows)]
    prune_other_cases(soup.body or soup, url, _is_other_case(url), keep=anchors)
    study_matches = reading.every("studies", soup, WAYS["studies"], required=True)
    case = container_of([*anchors, *(m.node for m in study_matches)]) or soup
    title = text_of(title_node)
    facts = _labelled(patient_rows)
    certainty = reading.find("certainty", case, WAYS["certainty"])
    history = "\n".join(m.value for m in reading.every("presentation", case, WAYS["presentation"]))
    studies = [_study(match.node, url, reading) for match in study_matches]
    age_text = facts.get("age")
    sex_text = facts.get("gender") or facts.get("sex")
    if not (age_text or sex_text):
        reading.missing("age or gender in the patient data", WAYS["patient data"])
    finding, diagnosis = finding_name(title)
    date_label = next((label for label in HEADER_DATE_LABELS if label.lower() in head), None)
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
        credit=_credit(author.value if author else None, rid),
        license=LICENSE,
        doi=_first(r"(10\.\d{4,9}/\S+)", head.get("doi", "")),
        date=iso_date(head.get(date_label.lower())) if date_label else None,
        certainty=certainty.value if certainty else None,
        text=text,
        evidence={
            key: value
            for key, value in {"age": age_text, "sex": sex_text, "finding": diagnosis}.items()
            if value
        },
        matched=reading.matched,
    )
    return page, studies


def _is_other_case(url: str) -> Callable[[str], bool]:
    own = canonical_url(url)
    return lambda address: is_case_url(address) and canonical_url(address) != own


def _first(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text or "")
    return match.group(1) if match else None


def _study(node: Any, page_url: str, reading: Reading) -> Study:
    found = reading.find("study id", node, WAYS["study id"])
    if found is None:
        reading.missing("study id of a study", WAYS["study id"])
    study_id = found.value
    stacks = reading.find("study stacks url", node, WAYS["study stacks url"])
    study_page = reading.find("study page", node, WAYS["study page"])
    modality = reading.find("study modality", node, WAYS["study modality"])
    findings = reading.find("study findings", node, WAYS["study findings"])
    description = reading.find("study description", node, WAYS["study description"])
    return Study(
        id=str(study_id),
        stacks_url=urljoin(page_url, stacks.value) if stacks else None,
        modality=modality.value if modality else None,
        findings=text_of(findings.node) if findings else "",
        description=description.value if description else "",
        page_url=urljoin(page_url, study_page.value) if study_page else None,
    )


def stacks_urls(study: Study, page_url: str) -> list[str]:
    """The study's stacks JSON: the address the page gives, then the known forms."""
    urls = [study.stacks_url] if study.stacks_url else []
    urls += [urljoin(page_url, path.format(id=study.id)) for path in STACKS_PATHS]
    return list(dict.fromkeys(urls))


def study_page_url(study: Study, page_url: str) -> str:
    """/cases/<case>/studies/<id>, whose script embeds the stacks as `var stackedImages`."""
    return study.page_url or STUDY_PAGE_PATH.format(case=canonical_url(page_url), id=study.id)


def stacked_images(html: str) -> Any | None:
    """The `var stackedImages = [...]` of a study page, or None."""
    found = STACKED_IMAGES.search(html)
    if found is None:
        return None
    try:
        data, _end = json.JSONDecoder().raw_decode(html, found.end())
    except ValueError:
        return None
    return data


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
    """The images of one study from `/studies/<id>/stacks`, `annotated_viewer_json` or a
    study page's `stackedImages`."""
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
        images, form = _study_images(study, url, fetcher)
        page.images.extend(images)
        note_form(page.matched, "stacks", form)
    return page


def _study_images(
    study: Study, page_url: str, fetcher: SiteFetcher
) -> tuple[list[CaseImage], str]:
    """The study's images and the form they were read from; only "not found" moves on."""
    last: str | None = None
    for json_url in stacks_urls(study, page_url):
        try:
            images = fetcher.parse(SITE, json_url, partial(_stacks_answer, study))
        except SourceError as exc:
            if getattr(exc, "status", None) not in (404, 410):
                raise
            last = f"{json_url} not found"
            continue
        form = "annotated viewer JSON" if "annotated_viewer" in json_url else "stacks JSON"
        return images, form
    study_page = study_page_url(study, page_url)
    missing = (
        f"no stacks for study {study.id}: no stacks JSON ({last}) and no "
        f"`var stackedImages` on {study_page}"
    )
    try:
        images = fetcher.parse(SITE, study_page, partial(_study_page_answer, study))
    except LayoutChanged as exc:
        raise LayoutChanged(SITE, page_url, missing) from exc
    except SourceError as exc:
        if getattr(exc, "status", None) not in (404, 410):
            raise
        raise LayoutChanged(SITE, page_url, missing) from exc
    return images, "2025 study page stackedImages"


def _study_page_answer(study: Study, text: str, url: str) -> list[CaseImage]:
    data = stacked_images(text)
    if data is None:
        raise LayoutChanged(SITE, url, "no `var stackedImages` on the study page")
    return parse_stacks(data, study, url)


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
    listing_results=SELECTORS["search_results"],
    next_page=SELECTORS["next_page"],
    listing_title=lambda link: link_text(
        select_first(link, SELECTORS["search_result_title"]) or link
    ),
)
