"""Only validated bodies are kept: a bad answer is never replayed by the cache, and a partial
or wrong file never takes its final name (so a rerun fetches it again)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.config import Config, load_config
from pipeline.http import HttpClient
from pipeline.sources.doi import fetch_doi_document
from pipeline.sources.pdf import download_pdf
from pipeline.sources.sites.base import SiteBlocked
from pipeline.sources.sites.fetcher import SiteFetcher
from pipeline.store import Store
from tests.fixtures.sites.serve import RADIOPAEDIA_CASE, quick_server, serve_radiopaedia
from tests.httpserver import LocalServer, Reply
from tests.pdfs import case_report_pdf
from tests.test_doi import PONE, SREP, route, serve_unpaywall, serve_work, unpaywall_record
from tests.test_sites_extract import extract_case_page

CAPTCHA = ('<html><head><title>Just a moment...</title></head><body>'
           '<div class="cf-turnstile" data-sitekey="x"></div></body></html>')  # fmt: skip


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with quick_server() as local:
        yield local


@pytest.fixture
def local_config(
    server: LocalServer, pipeline_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Config:
    for name, value in {
        "PIPELINE_CROSSREF_URL": server.base_url,
        "PIPELINE_UNPAYWALL_URL": server.url("/unpaywall"),
        "PIPELINE_PMC_URL": server.url("/pmc"),
        "PIPELINE_RADIOPAEDIA_URL": server.base_url,
        "PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
        "PIPELINE_HTTP_RETRIES": "0",
    }.items():
        monkeypatch.setenv(name, value)
    return load_config()


@pytest.fixture
def whole_pdf(tmp_path: Path) -> bytes:
    return case_report_pdf(tmp_path / "whole.pdf").read_bytes()


def test_a_captcha_is_not_replayed_by_the_nightlys_caching_client(
    server: LocalServer, local_config: Config, tmp_path: Path
) -> None:
    store = Store.open(local_config.path("staging_db"))
    url = serve_radiopaedia(server)
    real_page = server.routes[RADIOPAEDIA_CASE]
    server.add(RADIOPAEDIA_CASE, Reply.html(CAPTCHA))
    # A caching client, like the nightly's shared one.
    with HttpClient(local_config) as night_one, pytest.raises(SiteBlocked, match="captcha"):
        extract_case_page(url, local_config, store, fetcher=SiteFetcher(night_one, "bot"))
    server.routes[RADIOPAEDIA_CASE] = real_page
    with HttpClient(local_config) as night_two:  # the same cache file, the next night
        report = extract_case_page(url, local_config, store, fetcher=SiteFetcher(night_two, "b"))
        asked = server.hits(RADIOPAEDIA_CASE)
        extract_case_page(url, local_config, store, fetcher=SiteFetcher(night_two, "b"))
    assert len(report.staged) == 5 and asked == 2
    assert server.hits(RADIOPAEDIA_CASE) == 2  # the parsed page was cached: not asked again


def test_unpaywalls_malformed_answer_is_asked_again_on_the_rerun(
    server: LocalServer, local_config: Config, whole_pdf: bytes, tmp_path: Path
) -> None:
    serve_work(server, PONE)
    record = unpaywall_record("10.1038_nature12373", PONE)
    serve_unpaywall(server, PONE, record)
    good = server.routes[f"/unpaywall/v2/{PONE}"]
    server.add(f"/unpaywall/v2/{PONE}", Reply.json(b'{"doi": "' + PONE.encode() + b'", "is_o'))
    server.add(route(record["oa_locations"][0]["url_for_pdf"]), Reply(200, whole_pdf))
    with pytest.raises(Exception, match="malformed JSON"):
        fetch_doi_document(PONE, local_config, tmp_path / "doc")
    server.routes[f"/unpaywall/v2/{PONE}"] = good
    _facts, path = fetch_doi_document(PONE, local_config, tmp_path / "doc")
    assert path.read_bytes() == whole_pdf and server.hits(f"/unpaywall/v2/{PONE}") == 2


def test_half_a_pdf_is_neither_kept_nor_reused(
    server: LocalServer, local_config: Config, whole_pdf: bytes, tmp_path: Path
) -> None:
    message = serve_work(server, SREP)
    [link] = {item["URL"] for item in message["link"] if item["content-type"] == "application/pdf"}
    half = whole_pdf[: len(whole_pdf) // 2]
    server.add(route(link), Reply(200, half, {"Content-Type": "application/pdf"}))
    record = serve_unpaywall(server, SREP, unpaywall_record("10.1038_nature12373", SREP))
    server.add(route(record["oa_locations"][0]["url_for_pdf"]), Reply(200, whole_pdf))
    doc = tmp_path / "doc"

    _facts, path = fetch_doi_document(SREP, local_config, doc)

    assert path.read_bytes() == whole_pdf
    attempts = json.loads((doc / "fetch.json").read_text())["attempts"]
    assert attempts[0]["route"] == "crossref-link" and "truncated PDF" in attempts[0]["result"]
    assert sorted(p.name for p in doc.iterdir()) == ["fetch.json", "source.pdf"]
    # A partial source.pdf left by an older release is not reused: it is fetched again.
    path.write_bytes(half)
    _facts, again = fetch_doi_document(SREP, local_config, doc)
    assert again.read_bytes() == whole_pdf


def test_a_watchlist_pdf_link_is_reused_only_when_whole(
    server: LocalServer, local_config: Config, whole_pdf: bytes
) -> None:
    server.add("/paper.pdf", Reply(200, whole_pdf, {"Content-Type": "application/pdf"}))
    with HttpClient(local_config, cache=False) as client:
        first = download_pdf(server.url("/paper.pdf"), local_config, client)
        first.write_bytes(whole_pdf[:1000])  # a partial file from an older release
        second = download_pdf(server.url("/paper.pdf"), local_config, client)
        third = download_pdf(server.url("/paper.pdf"), local_config, client)
    assert second == first and second.read_bytes() == whole_pdf
    assert third == first and server.hits("/paper.pdf") == 2
