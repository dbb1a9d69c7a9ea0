"""A case URL in, rows staged: the three sites served from 127.0.0.1 through the real client."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.config import Config, load_config
from pipeline.errors import SourceError
from pipeline.extract import ExtractReport, extract
from pipeline.http import FetchError, HttpClient
from pipeline.sources.base import Fetching
from pipeline.sources.casepage import CaseUrl
from pipeline.sources.sites.base import LayoutChanged, RobotsDisallowed, SiteBlocked
from pipeline.sources.sites.fetcher import SiteFetcher
from pipeline.store import Store
from tests.fixtures.sites.serve import (
    RADIOPAEDIA_CASE,
    page,
    quick_server,
    robots,
    serve_eurorad,
    serve_radiopaedia,
    serve_sirm,
)
from tests.httpserver import LocalServer, Reply

SITES = ("radiopaedia", "eurorad", "sirm")


def extract_case_page(
    url: str, config: Config, store: Store, *, fetcher: SiteFetcher | None = None
) -> ExtractReport:
    return extract(CaseUrl(url), config, store, fetching=Fetching(config, fetcher=fetcher))


@pytest.fixture
def servers() -> Iterator[dict[str, LocalServer]]:
    with quick_server() as rp, quick_server() as er, quick_server() as sirm:
        yield dict(zip(SITES, (rp, er, sirm), strict=True))


@pytest.fixture
def site_config(
    pipeline_env: dict[str, str], servers: dict[str, LocalServer], monkeypatch: pytest.MonkeyPatch
) -> Config:
    for name, server in servers.items():
        monkeypatch.setenv(f"PIPELINE_{name.upper()}_URL", server.base_url)
    monkeypatch.setenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
    return load_config()


@pytest.fixture
def site_store(site_config: Config) -> Store:
    return Store.open(site_config.path("staging_db"))


@pytest.fixture
def fetcher(site_config: Config) -> Iterator[SiteFetcher]:
    quick = site_config.with_section("http", backoff_factor=0.02)  # retried answers, quickly
    with HttpClient(quick, cache=False) as client:
        yield SiteFetcher(client, "covid-image-pipeline")


def by_file(rows: list[dict]) -> dict[str, dict]:
    return {Path(row.image_file).stem.rsplit("-", 1)[-1]: row for row in rows}


def test_radiopaedia_case_stages_xrays_and_a_few_ct_slices(
    servers: dict[str, LocalServer], site_config: Config, site_store: Store, fetcher: SiteFetcher
) -> None:
    url = serve_radiopaedia(servers["radiopaedia"])

    report = extract_case_page(url + "?lang=us", site_config, site_store, fetcher=fetcher)

    rows = site_store.candidates()
    assert len(rows) == len(report.staged) == 5  # PA, lateral, and 3 of the 40 CT slices
    assert report.location == url  # canonical: no ?lang=us
    xrays = [row for row in rows if row.fields["modality"] == "X-ray"]
    cts = [row for row in rows if row.fields["modality"] == "CT"]
    assert [row.fields["view"] for row in xrays] == ["PA", "L"]
    assert {row.fields["view"] for row in cts} == {"Axial"}
    served = servers["radiopaedia"]
    assert served.hits("/images/52106001/a1b2c3d4e5.png") == 1  # the original file
    assert not any("_big_gallery" in request.path for request in served.requests)
    ct_hits = [r.path for r in served.requests if r.path.startswith("/images/52107")]
    assert ct_hits == ["/images/52107010/ct010.jpg", "/images/52107020/ct020.jpg",
                       "/images/52107030/ct030.jpg"]  # fmt: skip
    fields = xrays[0].fields
    assert (fields["age"], fields["sex"], fields["finding"]) == ("70", "M", "COVID-19")
    assert fields["url"] == url and fields["license"] == "CC BY-NC-SA"
    assert fields["other_notes"] == "Case courtesy of Dr Fabio Macori, Radiopaedia.org, rID: 74867"
    assert fields["clinical_notes"].startswith("Fever and dry cough for 5 days")
    assert "Bilateral peripheral patchy consolidation" in fields["clinical_notes"]
    assert "Multifocal bilateral ground-glass" in cts[0].fields["clinical_notes"]
    assert fields["doi"] == "10.53347/rID-74867"
    assert xrays[0].classifier_modality == "xray" and xrays[0].flags == []
    assert xrays[0].source_kind == "url"
    manifest = json.loads((report.out_dir / "manifest.json").read_text())
    assert len(manifest["images"]) == 42
    assert sum("not-taken" not in entry["flags"] for entry in manifest["images"]) == 5
    [source] = site_store.sources()
    assert source.status == "ok" and source.candidates_staged == 5
    # again: nothing new staged, nothing downloaded again
    before = len(served.requests)
    again = extract_case_page(url, site_config, site_store, fetcher=fetcher)
    assert again.staged == [] and len(again.already_staged) == 5
    assert not any(r.path.startswith("/images/") for r in served.requests[before:])


def test_eurorad_case(
    servers: dict[str, LocalServer], site_config: Config, site_store: Store, fetcher: SiteFetcher
) -> None:
    url = serve_eurorad(servers["eurorad"])
    report = extract_case_page(url, site_config, site_store, fetcher=fetcher)
    rows = site_store.candidates()
    assert len(report.staged) == 2  # the X-ray and the CT; not the ultrasound
    xray, ct = rows
    assert (xray.fields["modality"], xray.fields["view"]) == ("X-ray", "PA")
    assert (ct.fields["modality"], ct.fields["view"]) == ("CT", "Axial")
    assert xray.fields["license"] == "CC BY-NC-SA 4.0"
    assert (xray.fields["age"], xray.fields["sex"]) == ("62", "M")
    legend = "Figure 1: Chest X-ray, PA view: bilateral peripheral opacities in the lower zones."
    assert xray.fields["clinical_notes"].endswith(legend)
    assert xray.caption.startswith("Figure 1")
    assert not any("_teaser_large" in r.path for r in servers["eurorad"].requests)
    assert xray.fields["temperature"] == "38.5"  # from the clinical history's text


def test_sirm_post_in_italian(
    servers: dict[str, LocalServer], site_config: Config, site_store: Store, fetcher: SiteFetcher
) -> None:
    url = serve_sirm(servers["sirm"])
    extract_case_page(url, site_config, site_store, fetcher=fetcher)
    rx, axial, coronal = site_store.candidates()
    assert (rx.fields["age"], rx.fields["sex"]) == ("72", "F")  # from the Italian text
    assert rx.evidence["age"]["text"] == "di 72 anni"
    assert (rx.fields["modality"], rx.fields["view"]) == ("X-ray", "AP")
    assert (axial.fields["view"], coronal.fields["view"]) == ("Axial", "Coronal")
    assert rx.fields["license"] is None
    assert rx.fields["other_notes"].startswith("Caso a cura di: Dott. Mario Rossi")
    assert coronal.fields["clinical_notes"].endswith("TC torace, ricostruzione coronale.")
    paths = [r.path for r in servers["sirm"].requests]
    assert "/wp-content/uploads/2020/03/caso12-tc-1.jpg" in paths  # the original upload
    assert not any("x768" in path or "x300" in path for path in paths)


def test_layout_changed_stages_nothing_and_is_recorded(
    servers: dict[str, LocalServer], site_config: Config, site_store: Store, fetcher: SiteFetcher
) -> None:
    server = servers["radiopaedia"]
    url = serve_radiopaedia(server)
    html = page("radiopaedia", "case.html", server.base_url)
    server.add(RADIOPAEDIA_CASE, Reply.html(html.replace("case-patient-data", "patient")))
    with pytest.raises(LayoutChanged, match="radiopaedia layout changed: no patient data"):
        extract_case_page(url, site_config, site_store, fetcher=fetcher)
    assert site_store.candidates() == []
    [source] = site_store.sources()
    assert source.status == "failed" and "no patient data" in source.error


def test_not_found(
    servers: dict[str, LocalServer], site_config: Config, site_store: Store, fetcher: SiteFetcher
) -> None:
    robots(servers["eurorad"])
    with pytest.raises(FetchError, match="HTTP 404") as caught:
        extract_case_page(servers["eurorad"].url("/case/1"), site_config, site_store,
                          fetcher=fetcher)  # fmt: skip
    assert caught.value.status == 404
    assert site_store.sources()[0].status == "failed"


def test_429_then_success(
    servers: dict[str, LocalServer], site_config: Config, site_store: Store, fetcher: SiteFetcher
) -> None:
    server = servers["sirm"]
    url = serve_sirm(server)
    html = page("sirm", "caso.html", server.base_url)
    server.add("/2020/03/10/covid-19-caso-12/", Reply(429, headers={"Retry-After": "1"}),
               Reply.html(html))  # fmt: skip
    report = extract_case_page(url, site_config, site_store, fetcher=fetcher)
    assert len(report.staged) == 3
    pages = [r for r in server.requests if r.path == "/2020/03/10/covid-19-caso-12/"]
    assert len(pages) == 2 and pages[1].at - pages[0].at >= 0.9  # Retry-After honoured


def test_image_that_is_html_is_refused(
    servers: dict[str, LocalServer], site_config: Config, site_store: Store, fetcher: SiteFetcher
) -> None:
    server = servers["radiopaedia"]
    url = serve_radiopaedia(server)
    login = Reply.html("<!DOCTYPE html><html><body>Please log in</body></html>")
    server.add("/images/52106001/a1b2c3d4e5.png", login)
    server.add("/images/52106001/a1b2c3d4e5_big_gallery.jpeg", login)
    report = extract_case_page(url, site_config, site_store, fetcher=fetcher)
    assert len(report.staged) == 4  # the PA film is missing, the rest is staged
    manifest = json.loads((report.out_dir / "manifest.json").read_text())
    first = manifest["images"][0]
    assert first["file"] is None and "HTML served as an image" in first["error"]
    assert not list(report.out_dir.glob("*.download"))


def test_resized_copy_when_the_original_is_gone(
    servers: dict[str, LocalServer], site_config: Config, site_store: Store, fetcher: SiteFetcher
) -> None:
    server = servers["sirm"]
    url = serve_sirm(server)
    server.add("/wp-content/uploads/2020/03/caso12-tc-2.jpg", Reply(404))
    server.add("/wp-content/uploads/2020/03/caso12-tc-2-300x300.jpg",
               server.routes["/wp-content/uploads/2020/03/caso12-tc-1.jpg"][0])  # fmt: skip
    server.add("/wp-content/uploads/2020/03/caso12-tc-1.jpg", Reply(403))  # a guess: no stop
    extract_case_page(url, site_config, site_store, fetcher=fetcher)
    rows = site_store.candidates()
    assert len(rows) == 2  # tc-1 has no resized copy served; tc-2 came from its -300x300
    assert any("resized copy" in flag for flag in rows[1].flags)
    assert "sirm" not in fetcher.blocked


def test_case_with_no_xray_or_ct(
    servers: dict[str, LocalServer], site_config: Config, site_store: Store, fetcher: SiteFetcher
) -> None:
    server = servers["radiopaedia"]
    url = serve_radiopaedia(server)
    for path, name in (
        ("/studies/52106/stacks", "stacks-52106.json"),
        ("/studies/52107/annotated_viewer_json", "annotated_viewer-52107.json"),
    ):
        text = page("radiopaedia", name, server.base_url)
        text = text.replace('"X-ray"', '"MRI"').replace('"CT"', '"MRI"')
        server.add(path, Reply.json(text.encode()))  # fmt: skip
    report = extract_case_page(url, site_config, site_store, fetcher=fetcher)
    assert report.staged == [] and report.images == 0
    assert not any(r.path.startswith("/images/") for r in server.requests)
    [source] = site_store.sources()
    assert source.status == "ok" and source.candidates_staged == 0


def test_ct_only_case_and_the_other_stacks_form(
    servers: dict[str, LocalServer], site_config: Config, site_store: Store, fetcher: SiteFetcher
) -> None:
    server = servers["radiopaedia"]
    url = serve_radiopaedia(server)
    html = page("radiopaedia", "case.html", server.base_url)
    start = html.index('<div class="case-section case-study" data-study-id="52106"')
    end = html.index('<div class="case-section case-study" data-study-id="52107"')
    html = html[:start] + html[end:]
    html = html.replace(' data-study-stacks-url="/studies/52107/annotated_viewer_json?lang=us"', "")
    server.add(RADIOPAEDIA_CASE, Reply.html(html))
    report = extract_case_page(url, site_config, site_store, fetcher=fetcher)
    assert len(report.staged) == 3
    assert {row.fields["modality"] for row in site_store.candidates()} == {"CT"}
    assert server.hits("/studies/52107/stacks") == 1  # tried first, 404, then the other form


def test_robots_txt_disallowing(
    servers: dict[str, LocalServer], site_config: Config, site_store: Store, fetcher: SiteFetcher
) -> None:
    server = servers["radiopaedia"]
    url = serve_radiopaedia(server)
    robots(server, "User-agent: *\nDisallow: /cases/\n")
    with pytest.raises(RobotsDisallowed, match="robots.txt"):
        extract_case_page(url, site_config, site_store, fetcher=fetcher)
    assert server.hits(RADIOPAEDIA_CASE) == 0
    assert site_store.sources()[0].status == "failed"


def test_robots_txt_for_another_agent_does_not_apply(
    servers: dict[str, LocalServer], site_config: Config, site_store: Store, fetcher: SiteFetcher
) -> None:
    server = servers["eurorad"]
    url = serve_eurorad(server)
    robots(server, "User-agent: BadBot\nDisallow: /\n\nUser-agent: *\nDisallow: /user/\n")
    assert len(extract_case_page(url, site_config, site_store, fetcher=fetcher).staged) == 2


@pytest.mark.parametrize(
    "answer",
    [
        Reply(403, b"Forbidden", {"Content-Type": "text/html"}),
        Reply.html('<html><head><title>Just a moment...</title></head><body>'
                   '<div class="cf-turnstile" data-sitekey="x"></div></body></html>'),
        Reply(503, b"<html><head><title>radiopaedia.org</title></head><body>Please wait "
                   b"while your request is being verified...</body></html>",
              {"Content-Type": "text/html"}),
    ],
    ids=["403", "captcha", "cloudflare-503"],
)  # fmt: skip
def test_403_or_captcha_stops_the_site_for_the_run(
    answer: Reply,
    servers: dict[str, LocalServer],
    site_config: Config,
    site_store: Store,
    fetcher: SiteFetcher,
) -> None:
    """A 503 is retried first (an outage may pass); a 503 that is a bot gate then stops the
    site like a 403 does, instead of being tried again on later nights."""
    server = servers["radiopaedia"]
    url = serve_radiopaedia(server)
    server.add(RADIOPAEDIA_CASE, answer)
    with pytest.raises(SiteBlocked, match="radiopaedia stopped for this run"):
        extract_case_page(url, site_config, site_store, fetcher=fetcher)
    asked = len(server.requests)
    with pytest.raises(SiteBlocked, match="radiopaedia stopped for this run"):
        extract_case_page(server.url("/cases/another"), site_config, site_store, fetcher=fetcher)
    assert len(server.requests) == asked  # not asked again
    # the other sites go on
    assert len(extract_case_page(serve_sirm(servers["sirm"]), site_config, site_store,
                                 fetcher=fetcher).staged) == 3  # fmt: skip


def test_hostile_text_is_stored_as_text(
    servers: dict[str, LocalServer], site_config: Config, site_store: Store, fetcher: SiteFetcher
) -> None:
    server = servers["eurorad"]
    url = serve_eurorad(server)
    html = page("eurorad", "case.html", server.base_url).replace(
        "<p>A 62-year-old man",
        "<p><script>stealCookies()</script><img src=x onerror=alert(1)> &lt;b&gt;A&lt;/b&gt; "
        "<i>62-year-old</i> man",
    )
    server.add("/case/16664", Reply.html(html))
    extract_case_page(url, site_config, site_store, fetcher=fetcher)
    notes = site_store.candidates()[0].fields["clinical_notes"]
    assert "stealCookies" not in notes and "onerror" not in notes
    assert notes.startswith("<b>A</b> 62-year-old man")  # the page's text, as text


def test_unknown_site_is_refused(site_config: Config, site_store: Store) -> None:
    with pytest.raises(SourceError, match="not a case page of a known site"):
        extract_case_page("https://example.org/case/1", site_config, site_store)
    assert site_store.sources()[0].status == "failed"


def test_requests_to_a_site_are_spaced(
    servers: dict[str, LocalServer], site_config: Config, site_store: Store, tmp_path: Path
) -> None:
    assert Config().sites.min_interval == 1.0
    config = site_config.with_section("sites", min_interval=0.4)
    url = serve_sirm(servers["sirm"])
    started = time.monotonic()
    extract_case_page(url, config, site_store)  # its own fetcher, from the config
    times = [r.at for r in servers["sirm"].requests]
    assert len(times) == 5  # robots.txt, the post, three images
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.35
    assert time.monotonic() - started >= 1.5


def test_robots_txt_missing_allows_and_403_stops(
    servers: dict[str, LocalServer], site_config: Config, site_store: Store, fetcher: SiteFetcher
) -> None:
    server = servers["sirm"]
    url = serve_sirm(server)
    server.add("/robots.txt", Reply(404))
    assert len(extract_case_page(url, site_config, site_store, fetcher=fetcher).staged) == 3
    other = servers["eurorad"]
    url = serve_eurorad(other)
    other.add("/robots.txt", Reply(403))
    with pytest.raises(SiteBlocked, match="robots.txt answered HTTP 403"):
        extract_case_page(url, site_config, site_store, fetcher=fetcher)
    assert other.hits("/case/16664") == 0 and "eurorad" in fetcher.blocked


def test_robots_crawl_delay_is_honoured(
    servers: dict[str, LocalServer], site_config: Config, site_store: Store, fetcher: SiteFetcher
) -> None:
    server = servers["sirm"]
    url = serve_sirm(server)
    robots(server, "User-agent: *\nCrawl-delay: 0.3\nDisallow: /wp-admin/\n")
    extract_case_page(url, site_config, site_store, fetcher=fetcher)
    times = [r.at for r in server.requests if r.path != "/robots.txt"]
    assert len(times) == 4 and min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.25


def test_images_over_the_pixel_cap_are_not_kept(
    servers: dict[str, LocalServer], site_config: Config, site_store: Store, fetcher: SiteFetcher
) -> None:
    config = site_config.with_section("extraction", max_megapixels=0.1)
    url = serve_eurorad(servers["eurorad"])
    with pytest.raises(SourceError, match="none of the 2 images downloaded: .*over the 0.1 MP cap"):
        extract_case_page(url, config, site_store, fetcher=fetcher)
    assert site_store.candidates() == []


def test_a_composite_on_a_case_page_is_staged_as_its_panels(
    servers: dict[str, LocalServer], site_config: Config, site_store: Store, fetcher: SiteFetcher
) -> None:
    """Case images take the same path as PDF figures: a side-by-side pair is cut."""
    import cv2
    import numpy as np

    from tests import phantoms

    server = servers["sirm"]
    url = serve_sirm(server)
    pair = np.full((400, 820), 255, dtype=np.uint8)
    pair[8:392, 8:392] = phantoms.chest_xray_frontal(384, seed=21)
    pair[8:392, 428:812] = phantoms.chest_xray_frontal(384, seed=22)
    body = cv2.imencode(".jpg", pair)[1].tobytes()
    jpeg = Reply(200, body, {"Content-Type": "image/jpeg"})
    server.add("/wp-content/uploads/2020/03/caso12-rx-1.jpg", jpeg)
    report = extract_case_page(url, site_config, site_store, fetcher=fetcher)
    xrays = [row for row in report.candidates if row.fields["modality"] == "X-ray"]
    assert [row.panel for row in xrays] == ["A", "B"]
    assert all(row.fields["age"] == "72" and row.fields["license"] is None for row in xrays)
def test_a_refused_image_is_reported_with_its_declared_size(
    servers: dict[str, LocalServer], site_config: Config, site_store: Store, fetcher: SiteFetcher
) -> None:
    from tests.fixtures.sites.serve import EURORAD_FIGURES
    from tests.test_classify import _png_header_claiming

    server = servers["eurorad"]
    url = serve_eurorad(server)
    bomb = _png_header_claiming(40000, 40000)
    server.add(f"{EURORAD_FIGURES}/000001.png", Reply(200, bomb, {"Content-Type": "image/png"}))
    report = extract_case_page(url, site_config, site_store, fetcher=fetcher)
    manifest = json.loads((report.out_dir / "manifest.json").read_text())
    errors = [entry.get("error") for entry in manifest["images"]]
    assert "too large: 40000x40000 is over the 150 MP cap ([extraction] max_megapixels)" in errors
    assert report.images == 1  # the other radiograph is taken
