"""The engine under the site parsers: ordered ways per field, and the case scoped out of the
page by generic rules (chrome, the case's container, blocks about other cases)."""

from __future__ import annotations

import pytest

from pipeline.config import Config
from pipeline.sources.sites import eurorad, radiopaedia, sirm, site_for_url
from pipeline.sources.sites.base import LayoutChanged, looks_like_captcha, soup_of
from pipeline.sources.sites.forms import Reading, Way, note_form
from pipeline.sources.sites.scope import (
    container_of,
    image_address,
    prune_other_cases,
    strip_chrome,
)

PAGE = "https://sirm.org/2020/03/10/covid-19-caso-12/"


def other_case(address: str) -> bool:
    return sirm.is_case_url(address) and sirm.canonical_url(address) != PAGE


def test_ways_are_tried_in_order_and_the_form_recorded() -> None:
    soup = soup_of('<div class="b">new</div><p class="a">old</p>')
    reading = Reading("site", "u")
    ways = (Way("2020", "p.a"), Way("2025", "div.b"))
    assert reading.find("label", soup, ways).value == "old"
    assert reading.matched == {"label": "2020"}
    assert reading.find("label", soup_of('<div class="b">new</div>'), ways).value == "new"
    assert reading.matched == {"label": "2020, 2025"}  # read twice, by two forms


def test_no_way_matching_names_the_field_and_every_way() -> None:
    reading = Reading("radiopaedia", "https://radiopaedia.org/cases/x")
    ways = (Way("2020", "#a strong"), Way("2025", ".b", attr="id", pattern=r"(\d+)"))
    with pytest.raises(LayoutChanged) as caught:
        reading.find("study id", soup_of("<p>x</p>"), ways, required=True)
    assert str(caught.value).endswith(
        "radiopaedia layout changed: no study id (tried 2020 `#a strong`, 2025 `.b@id`)"
    )


def test_a_pattern_and_an_attribute_make_a_way_and_the_element_itself_may_match() -> None:
    node = soup_of('<div class="main-study-desc" id="study-desc-52106"></div>').div
    way = Way("2023", "div.main-study-desc[id]", attr="id", pattern=r"(\d+)")
    assert Reading("s", "u").find("study id", node, (way,)).value == "52106"
    matched: dict[str, str] = {}
    note_form(matched, "stacks", "stacks JSON")
    note_form(matched, "stacks", "stacks JSON")
    assert matched == {"stacks": "stacks JSON"}


def test_chrome_goes_but_an_article_keeps_its_own_header() -> None:
    soup = soup_of(
        "<header>Site banner</header><nav>Menu</nav><div role='dialog'>Cookies</div>"
        "<article><header><h1>Case title</h1></header><p>Case text</p>"
        "<aside>Read also</aside><form><button>Subscribe</button></form></article>"
        "<div role='contentinfo'>Footer</div><iframe src='ad'></iframe>"
    )
    strip_chrome(soup)
    assert soup.get_text(" ").split() == ["Case", "title", "Case", "text"]


def test_the_container_is_the_lowest_common_ancestor() -> None:
    soup = soup_of("<main><div id=a><h1>t</h1></div><div id=b><p>x</p></div></main><p>y</p>")
    assert container_of([soup.h1, soup.find(id="b").p]).name == "main"
    assert container_of([soup.h1]) is soup.h1 and container_of([None]) is None


def test_blocks_about_other_cases_go_the_case_and_its_words_stay() -> None:
    soup = soup_of(
        "<div class='entry'><p>Uomo di 43 anni. Simile al "
        "<a href='/2020/03/09/covid-19-caso-11/'>caso 11</a>, con febbre.</p>"
        "<p><a href='/wp-content/uploads/2020/03/caso12-rx.jpg'><img src='caso12-rx-300x300.jpg'>"
        "</a></p>"
        "<div class='whatever-plugin'><h3>Potrebbero interessarti</h3><ul>"
        "<li><a href='/2020/03/11/covid-19-caso-13/'><img src='/wp-content/uploads/c13.jpg'>"
        "Caso 13</a></li>"
        "<li><a href='/2020/03/09/covid-19-caso-11/'>Caso 11</a> Donna di 60 anni con tosse, "
        "febbre e dispnea da una settimana, ricoverata.</li></ul></div>"
        "<div class='teaser'><a href='/2020/03/08/covid-19-caso-10/'><img src='/t.jpg'></a>"
        "<p>Una lunga descrizione del caso 10 che non è un link ma parla di un altro caso.</p>"
        "</div></div>"
    )
    entry = soup.find(class_="entry")
    prune_other_cases(soup, PAGE, other_case, keep=[entry])
    text = entry.get_text(" ")
    assert "Simile al caso 11" in " ".join(text.split())  # an inline mention is the case's
    assert "Potrebbero" not in text and "Donna di 60" not in text and "caso 10" not in text
    assert [img["src"] for img in entry.find_all("img")] == ["caso12-rx-300x300.jpg"]


def test_a_language_switcher_goes() -> None:
    soup = soup_of(
        "<div class='entry'><p>Also in: <a hreflang='it' href='/2020/03/06/covid-19-caso-5/'>"
        "Italiano</a></p><p>65-year-old man.</p></div>"
    )
    entry = soup.find(class_="entry")
    prune_other_cases(soup, PAGE, other_case, keep=[entry])
    assert entry.get_text(" ").split() == ["65-year-old", "man."]


def test_lazy_images_give_their_real_address() -> None:
    page = "https://sirm.org/2020/03/10/covid-19-caso-12/"
    soup = soup_of(
        '<img id=a src="data:image/gif;base64,R0" data-lazy-src="/u/a-768x768.jpg">'
        '<img id=b src="data:," srcset="b-300x300.jpg 300w, b-1024x1024.jpg 1024w">'
        '<noscript><img id=c src="../c.jpg"></noscript>'
    )
    assert image_address(soup.find(id="a"), page) == "https://sirm.org/u/a-768x768.jpg"
    assert image_address(soup.find(id="b"), page, prefer_srcset=True).endswith("b-1024x1024.jpg")
    assert image_address(soup.find(id="c"), page) == "https://sirm.org/2020/03/10/c.jpg"


def test_addresses_of_the_newer_forms() -> None:
    config = Config()
    assert site_for_url("https://archivio.sirm.org/2020/03/10/covid-19-caso-12/", config) == "sirm"
    assert site_for_url("https://sirm.org/en/2020/03/06/covid-19-case-5/", config) == "sirm"
    assert site_for_url("https://archivio.radiopaedia.org/cases/x", config) is None
    assert sirm.case_date("https://sirm.org/en/2020/03/06/covid-19-case-5/") == "2020-03-06"
    assert eurorad.case_number("https://www.eurorad.org/case/18042/teaching-case") == "18042"
    assert eurorad.full_size(
        "https://www.eurorad.org/sites/default/files/styles/figure_image_teaser_large/public/"
        "figure_image/2020-03/16654_2_1.jpg?itok=Ab12"
    ) == ("https://www.eurorad.org/sites/default/files/styles/figure_image/public/"
          "figure_image/2020-03/16654_2_1.jpg")  # fmt: skip
    assert not radiopaedia.is_case_url("https://radiopaedia.org/cases/x/studies/5")


def test_a_study_page_embeds_its_stacks() -> None:
    html = '<script>var a = 1; var stackedImages = [{"images": [{"id": 1}]}]; init();</script>'
    assert radiopaedia.stacked_images(html) == [{"images": [{"id": 1}]}]
    assert radiopaedia.stacked_images("<p>no viewer</p>") is None


def test_cloudflare_gate_is_recognised() -> None:
    gate = ("<html><head><title>eurorad.org</title></head><body><h2>Please wait while your "
            "request is being verified...</h2></body></html>")  # fmt: skip
    assert looks_like_captcha(gate)
    with pytest.raises(LayoutChanged):  # the parser alone sees no case; the fetcher blocks
        eurorad.parse_case(gate, "https://www.eurorad.org/case/1")


def test_the_2023_header_and_the_case_published_date() -> None:
    from tests.fixtures.sites.serve import page

    case, _studies = radiopaedia.parse_case(
        page("radiopaedia", "case-2023.html", "https://radiopaedia.org"),
        "https://radiopaedia.org/cases/covid-19-pneumonia-with-ards",
    )
    assert case.date == "2020-04-02" and case.doi == "10.53347/rID-76021"
    assert case.matched["header"] == "2023" and case.certainty == "Diagnosis certain"


def test_the_english_mirror_is_read_as_english() -> None:
    from tests.fixtures.sites.serve import page

    url = "https://sirm.org/en/2020/03/06/covid-19-case-5/"
    case = sirm.parse_case(page("sirm", "case-en.html", "https://sirm.org"), url)
    assert case.language == "en" and case.date == "2020-03-06"
    italian = sirm.parse_case(page("sirm", "caso.html", "https://sirm.org"), PAGE)
    assert italian.language == "it"
