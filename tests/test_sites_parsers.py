"""The case-site parsers on pages written to SITES.md's structure: text in, facts out."""

from __future__ import annotations

import json

import pytest

from pipeline.sources.sites import eurorad, radiopaedia, sirm
from pipeline.sources.sites.base import LayoutChanged, looks_like_captcha
from pipeline.sources.sites.images import refuse_non_image, representative
from pipeline.sources.sites.vocab import age_years, finding_name, modality_from_text, view_name
from tests.fixtures.sites.serve import page

RP = "https://radiopaedia.org"
RP_CASE = f"{RP}/cases/covid-19-pneumonia-12"
ER_CASE = "https://www.eurorad.org/case/16664"
SIRM_CASE = "https://sirm.org/2020/03/10/covid-19-caso-12/"


def rp_page(name: str = "case.html") -> str:
    return page("radiopaedia", name, RP)


def test_radiopaedia_case_page() -> None:
    case, studies = radiopaedia.parse_case(rp_page(), RP_CASE)
    assert case.title == "COVID-19 pneumonia" and case.finding == "COVID-19"
    assert (case.age, case.sex) == (70, "M")
    assert case.clinical_history.startswith("Fever and dry cough for 5 days")
    assert case.credit == "Case courtesy of Dr Fabio Macori, Radiopaedia.org, rID: 74867"
    assert case.license == "CC BY-NC-SA" and case.doi == "10.53347/rID-74867"
    assert case.date == "2020-03-12" and case.certainty == "Diagnosis certain"
    # the script's decoy values and the navigation never reach the text
    assert "99 years" not in case.text and "Log In" not in case.text
    assert [(s.id, s.modality) for s in studies] == [("52106", "X-ray"), ("52107", "CT")]
    assert studies[0].stacks_url == f"{RP}/studies/52106/stacks?lang=us"
    assert studies[0].findings.startswith("Bilateral peripheral patchy consolidation")


def test_radiopaedia_stacks_in_both_forms() -> None:
    _case, (xray_study, ct_study) = radiopaedia.parse_case(rp_page(), RP_CASE)
    stacks = json.loads(page("radiopaedia", "stacks-52106.json", RP))
    frontal, lateral = radiopaedia.parse_stacks(stacks, xray_study, xray_study.stacks_url)
    assert frontal.url.endswith("/52106001/a1b2c3d4e5.png")  # the original, not _big_gallery
    assert frontal.page_url.endswith("a1b2c3d4e5_big_gallery.jpeg")
    assert (frontal.modality, frontal.view, lateral.view) == ("X-ray", "PA", "L")
    annotated = json.loads(page("radiopaedia", "annotated_viewer-52107.json", RP))
    slices = radiopaedia.parse_stacks(annotated, ct_study, ct_study.stacks_url)
    assert len(slices) == 40 and {s.modality for s in slices} == {"CT"}
    assert {s.view for s in slices} == {"Axial"} and slices[0].stack_size == 40


def test_radiopaedia_stacks_url_falls_back_to_known_forms() -> None:
    html = rp_page().replace(' data-study-stacks-url="/studies/52107/annotated_viewer_json'
                             '?lang=us"', "")  # fmt: skip
    _case, studies = radiopaedia.parse_case(html, RP_CASE)
    assert radiopaedia.stacks_urls(studies[1], RP_CASE) == [
        f"{RP}/studies/52107/stacks?lang=us",
        f"{RP}/studies/52107/annotated_viewer_json?lang=us",
    ]


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        (('class="data-item"', 'class="item"'), "no patient data .tried 2025"),
        (('class="header-title"', 'class="title"'), "no title .tried 2020 `#content-header h1"),
        (("case-section case-study", "case-section study"), "no studies"),
    ],
)
def test_radiopaedia_layout_changed(change: tuple[str, str], missing: str) -> None:
    with pytest.raises(LayoutChanged, match=missing) as caught:
        radiopaedia.parse_case(rp_page().replace(*change), RP_CASE)
    assert caught.value.site == "radiopaedia" and caught.value.url == RP_CASE
    assert str(caught.value).startswith(f"{RP_CASE}: radiopaedia layout changed: ")


def test_radiopaedia_stacks_without_files_is_a_layout_change() -> None:
    _case, studies = radiopaedia.parse_case(rp_page(), RP_CASE)
    with pytest.raises(LayoutChanged, match="no stack with images"):
        radiopaedia.parse_stacks({"series": []}, studies[0], "x")
    with pytest.raises(LayoutChanged, match="none of public_filename"):
        radiopaedia.parse_stacks([{"images": [{"id": 1}]}], studies[0], "x")


def test_radiopaedia_search_listing() -> None:
    first = radiopaedia.CASE_SITE.parse_listing(rp_page("search-1.html"), f"{RP}/search?q=covid-19")
    assert [case["url"] for case in first.cases] == [
        f"{RP}/cases/covid-19-pneumonia-12",  # once, though linked twice
        f"{RP}/cases/covid-19-pneumonia-ards",  # and no article
    ]
    assert first.cases[1]["date"] == "2020-04-02"
    assert first.next_url == f"{RP}/search?page=2&q=covid-19&scope=cases"
    last = radiopaedia.CASE_SITE.parse_listing(rp_page("search-2.html"), first.next_url)
    assert len(last.cases) == 1 and last.next_url is None


def test_eurorad_case_page() -> None:
    case = eurorad.parse_case(page("eurorad", "case.html", "https://www.eurorad.org"), ER_CASE)
    assert case.title == "COVID-19 pneumonia in a patient with cough and fever"
    assert (case.age, case.sex, case.finding) == (62, "M", "COVID-19")
    assert case.diagnosis == "COVID-19 pneumonia"  # from FINAL DIAGNOSIS
    assert case.clinical_history.startswith("A 62-year-old man presented")
    assert case.license == "CC BY-NC-SA 4.0" and case.doi == "10.35100/eurorad/case.16664"
    assert case.credit == "Case courtesy of Maria Rossi, Luca Bianchi, Eurorad.org, case 16664"
    xray, ct, ultrasound = case.images
    # the lazy-loaded address, without _teaser_large; never the data: placeholder
    assert xray.url.startswith(
        "https://www.eurorad.org/sites/default/files/styles/figure_image/public/"
    ) and xray.url.split("?")[0].endswith("/000001.png")
    assert "_teaser_large" in xray.page_url
    assert (xray.modality, xray.view) == ("X-ray", "PA")
    assert (ct.modality, ct.view) == ("CT", "Axial")
    assert ct.legend.startswith("Figure 2: axial NECT lung window")
    assert ultrasound.modality == "other"


def test_eurorad_layout_changed() -> None:
    html = page("eurorad", "case.html", "https://www.eurorad.org")
    with pytest.raises(LayoutChanged, match="no figures"):
        eurorad.parse_case(html.replace("figure-gallery__item", "gallery-item"), ER_CASE)
    # another class on the age line: read by the form that needs none
    moved = eurorad.parse_case(html.replace('class="color-grey"', 'class="grey"'), ER_CASE)
    assert (moved.age, moved.sex, moved.matched["age and sex"]) == (62, "M", "any")
    with pytest.raises(LayoutChanged, match="no age and sex"):
        eurorad.parse_case(html.replace("62, male", "sixty-two"), ER_CASE)


def test_eurorad_search_listing() -> None:
    base = "https://www.eurorad.org"
    first = eurorad.CASE_SITE.parse_listing(
        page("eurorad", "search-1.html", base), f"{base}/advanced-search"
    )
    assert [case["url"] for case in first.cases] == [f"{base}/case/16664", f"{base}/case/16690"]
    assert first.next_url == f"{base}/advanced-search?search=covid-19&page=1"
    last = eurorad.CASE_SITE.parse_listing(page("eurorad", "search-2.html", base), first.next_url)
    assert [case["url"] for case in last.cases] == [f"{base}/case/16801"]
    assert last.next_url is None


def test_sirm_post_in_italian() -> None:
    case = sirm.parse_case(page("sirm", "caso.html", "https://sirm.org"), SIRM_CASE)
    assert case.title == "COVID-19: caso 12" and case.finding == "COVID-19"
    assert case.license is None and case.date == "2020-03-10"
    assert case.clinical_history.startswith("Paziente di 72 anni, sesso femminile")
    assert "Condividi" not in case.clinical_history  # sharing buttons are not the case
    assert case.credit.startswith("Caso a cura di: Dott. Mario Rossi")
    rx, axial, coronal = case.images  # the logo and the share icons are not case images
    assert rx.url == "https://sirm.org/wp-content/uploads/2020/03/caso12-rx-1.jpg"
    assert (rx.modality, rx.view) == ("X-ray", "AP")
    assert axial.url.endswith("/caso12-tc-1.jpg") and axial.page_url.endswith("-768x768.jpg")
    assert (axial.modality, axial.view, coronal.view) == ("CT", "Axial", "Coronal")


def test_sirm_listing_keeps_case_posts_only() -> None:
    listing = sirm.CASE_SITE.parse_listing(page("sirm", "search-1.html", "https://sirm.org"),
                                 "https://sirm.org/?s=covid-19")  # fmt: skip
    assert [(case["url"], case["date"]) for case in listing.cases] == [
        ("https://sirm.org/2020/03/11/covid-19-caso-13/", "2020-03-11"),
        ("https://sirm.org/2020/03/10/covid-19-caso-12/", "2020-03-10"),
    ]
    assert listing.next_url == "https://sirm.org/page/2/?s=covid-19"


def test_sirm_original_upload() -> None:
    assert sirm.original_upload("https://sirm.org/wp-content/uploads/2020/03/a-b-1024x768.jpg") == (
        "https://sirm.org/wp-content/uploads/2020/03/a-b.jpg"
    )


def test_hostile_markup_leaves_as_text() -> None:
    html = rp_page().replace(
        "<p>Fever and dry cough",
        "<p><script>stealCookies()</script><b>Fever</b> &lt;img src=x onerror=alert(1)&gt; "
        "and dry cough",
    )
    case, _studies = radiopaedia.parse_case(html, RP_CASE)
    assert "stealCookies" not in case.clinical_history
    assert case.clinical_history.startswith("Fever <img src=x onerror=alert(1)> and dry cough")


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (("COVID-19 pneumonia",), "COVID-19"),
        (("SARS-CoV-2 infection",), "COVID-19"),
        (("Severe acute respiratory syndrome (SARS)",), "SARS"),
        (("Pneumocystis jirovecii pneumonia",), "Pneumocystis"),
        (("Mycoplasma pneumonia",), "Mycoplasma Bacterial Pneumonia"),
        (("Legionnaires disease",), "Legionella"),
        (("Exogenous lipoid pneumonia",), "Lipoid"),
        (("Varicella pneumonia",), "Varicella"),
        ((None, "Klebsiella pneumonia"), "Klebsiella"),
        (("Pulmonary embolism",), None),
    ],
)
def test_finding_names(texts: tuple[str | None, ...], expected: str | None) -> None:
    assert finding_name(*texts)[0] == expected


def test_words_to_vocabulary() -> None:
    assert view_name("X-ray", "Frontal") is None  # neither PA nor AP
    assert view_name("X-ray", "Frontal", "supine") == "AP Supine"
    assert view_name("X-ray", "Figure 1: PA and lateral chest radiographs") is None
    assert view_name("CT", "Coronal") == "Coronal"
    assert modality_from_text("RX torace a letto") == "X-ray"
    assert modality_from_text("Chest X-ray and CT") is None
    ages = (age_years("18 months"), age_years("Adult"), age_years("45-50 years"))
    assert ages == (1.5, None, None)


def test_helpers() -> None:
    assert representative(list(range(100)), 3) == [25, 50, 75]
    assert representative([4, 5], 3) == [4, 5]
    assert refuse_non_image(b"\x89PNG\r\n\x1a\n....") is None
    assert "HTML served as an image" in refuse_non_image(b"  <!DOCTYPE html><html>")
    assert looks_like_captcha('<div class="g-recaptcha" data-sitekey="x"></div>')
    assert not looks_like_captcha(rp_page())


def test_radiopaedia_rid_linked_to_its_permalink_is_kept() -> None:
    html = rp_page().replace("<strong>rID:</strong> 74867",
                             '<strong>rID:</strong> <a href="/cases/74867">74867</a>')  # fmt: skip
    case, _studies = radiopaedia.parse_case(html, RP_CASE)
    assert case.credit == "Case courtesy of Dr Fabio Macori, Radiopaedia.org, rID: 74867"
