"""A DOI to its facts and PDF: real habanero and requests against recorded responses served
on 127.0.0.1. Publisher and repository URLs in the recordings are rewritten to the server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pipeline.config import Config, load_config
from pipeline.errors import SourceError
from pipeline.extract import ExtractReport, extract
from pipeline.sources.crossref import resolve_doi
from pipeline.sources.doi import DoiSource, fetch_doi_document
from pipeline.sources.ids import doi_source_id
from pipeline.sources.pdf import LocalPdf
from pipeline.store import Store
from tests.httpserver import LocalServer, Reply
from tests.pdfs import case_report_pdf

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
SREP = "10.1038/srep16696"  # Crossref lists a PDF link; CC BY 4.0
PONE = "10.1371/journal.pone.0033693"  # no PDF link; CC BY 4.0
COOKIE_WALL = "<!DOCTYPE html><html><body>Accept cookies to read this article</body></html>"


def extract_doi(doi: str, config: Config, store: Store) -> ExtractReport:
    return extract(DoiSource(doi), config, store)


def extract_pdf(pdf: Path, config: Config, store: Store, doi: str | None = None) -> ExtractReport:
    return extract(LocalPdf(pdf, doi=doi), config, store)


def crossref_record(doi: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "crossref" / f"works_{doi.replace('/', '_')}.json").read_text())


def unpaywall_record(name: str, doi: str) -> dict[str, Any]:
    record = json.loads((FIXTURES / "unpaywall" / f"v2__{name}.json").read_text())
    return {**record, "doi": doi}


def local(server: LocalServer, url: str) -> str:
    """The server's stand-in for a public URL: http://host/path -> <server>/host/path."""
    parts = urlsplit(url)
    return server.url(f"/{parts.hostname}{parts.path}") + (f"?{parts.query}" if parts.query else "")


def route(url: str) -> str:
    return urlsplit(url).path


def serve_work(server: LocalServer, doi: str) -> dict[str, Any]:
    """Serve the recorded Crossref work with its landing page and links on the server."""
    record = crossref_record(doi)
    message = record["message"]
    message["resource"]["primary"]["URL"] = local(server, message["resource"]["primary"]["URL"])
    for link in message.get("link", []):
        link["URL"] = local(server, link["URL"])
    server.add(f"/works/{doi}", Reply.json(record))
    return message


def serve_unpaywall(server: LocalServer, doi: str, record: dict[str, Any]) -> dict[str, Any]:
    for location in [record.get("best_oa_location"), *record.get("oa_locations", [])]:
        for key in ("url", "url_for_pdf", "url_for_landing_page"):
            if location and location.get(key):
                location[key] = local(server, location[key])
    server.add(f"/unpaywall/v2/{doi}", Reply.json(record))
    return record


@pytest.fixture
def server_env(server: LocalServer, pipeline_env: dict[str, str]) -> dict[str, str]:
    return {
        **pipeline_env,
        "PIPELINE_CROSSREF_URL": server.base_url,
        "PIPELINE_UNPAYWALL_URL": server.url("/unpaywall"),
        "PIPELINE_PMC_URL": server.url("/pmc"),
        "PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
        "PIPELINE_HTTP_RETRIES": "2",
        "PIPELINE_HTTP_READ_TIMEOUT": "5",
    }


@pytest.fixture
def doi_config(server_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Config:
    for name, value in server_env.items():
        monkeypatch.setenv(name, value)
    return load_config()


@pytest.fixture
def paper(tmp_path: Path) -> Path:
    return case_report_pdf(tmp_path / "paper.pdf")


def test_doi_with_a_crossref_pdf_link(
    server: LocalServer, doi_config: Config, paper: Path, tmp_path: Path
) -> None:
    message = serve_work(server, SREP)
    [pdf_link] = {
        link["URL"] for link in message["link"] if link["content-type"] == "application/pdf"
    }
    server.add(route(pdf_link), Reply.file(paper))

    facts, path = fetch_doi_document(SREP, doi_config, tmp_path / "doc")

    assert path.read_bytes() == paper.read_bytes()
    assert facts.doi == SREP and facts.license == "CC BY 4.0" and facts.year == 2015
    assert facts.journal == "Scientific Reports"
    assert facts.url == message["resource"]["primary"]["URL"]
    assert facts.title.startswith("Single-molecule FRET studies on alpha-synuclein")
    assert facts.credit.startswith("Tosatto L, Horrocks MH, Dear AJ")
    assert "Scientific Reports, 2015." in facts.credit and "et al." in facts.credit
    record = json.loads((tmp_path / "doc" / "fetch.json").read_text())
    assert record["route"] == "crossref-link" and record["pdf_url"] == pdf_link
    crossref_agent = server.requests[0].headers["User-Agent"]
    assert "habanero" in crossref_agent and doi_config.contact_email in crossref_agent
    assert doi_config.contact_email in server.requests[-1].headers["User-Agent"]
    assert server.hits(f"/unpaywall/v2/{SREP}") == 0  # later routes are not asked


def test_found_through_unpaywall_after_html_in_place_of_a_pdf(
    server: LocalServer, doi_config: Config, paper: Path, tmp_path: Path
) -> None:
    serve_work(server, PONE)
    record = serve_unpaywall(server, PONE, unpaywall_record("10.1038_nature12373", PONE))
    best, second = (
        record["oa_locations"][0]["url_for_pdf"],
        record["oa_locations"][1]["url_for_pdf"],
    )
    server.add(route(best), Reply.html(COOKIE_WALL))
    server.add(route(second), Reply.file(paper))

    facts, path = fetch_doi_document(PONE, doi_config, tmp_path / "doc")

    assert path.read_bytes().startswith(b"%PDF-") and facts.license == "CC BY 4.0"
    attempts = json.loads((tmp_path / "doc" / "fetch.json").read_text())["attempts"]
    assert [(a["route"], a["result"].split(" (")[0]) for a in attempts] == [
        ("crossref-link", "no link with content-type application/pdf"),
        ("unpaywall", "HTML where a PDF was expected"),
        ("unpaywall", "ok"),
    ]
    assert server.requests[1].query == f"email={doi_config.contact_email.replace('@', '%40')}"


def test_found_through_citation_pdf_url(
    server: LocalServer, doi_config: Config, paper: Path, tmp_path: Path
) -> None:
    message = serve_work(server, PONE)  # Unpaywall answers 404 for it: not routed
    landing = message["resource"]["primary"]["URL"]
    server.add(route(landing), Reply.redirect(route(landing) + "/full"))
    server.add(
        route(landing) + "/full",
        Reply.html('<html><head><meta name="citation_pdf_url" content="/files/article.pdf">'),
    )
    server.add("/files/article.pdf", Reply.file(paper))

    facts, path = fetch_doi_document(PONE, doi_config, tmp_path / "doc")

    record = json.loads((tmp_path / "doc" / "fetch.json").read_text())
    assert record["route"] == "citation_pdf_url" and record["pdf_url"].endswith("/article.pdf")
    assert "HTTP 404" in record["attempts"][1]["result"]  # Unpaywall's miss, recorded


def test_found_through_pubmed_central(
    server: LocalServer, doi_config: Config, paper: Path, tmp_path: Path
) -> None:
    message = serve_work(server, PONE)
    serve_unpaywall(server, PONE, unpaywall_record("10.1016_j.tmaid.2020.101663", PONE))
    server.add(route(message["resource"]["primary"]["URL"]), Reply.html("<html>no meta</html>"))
    server.add("/pmc/articles/PMC7151271/pdf/", Reply.file(paper))

    fetch_doi_document(PONE, doi_config, tmp_path / "doc")

    assert json.loads((tmp_path / "doc" / "fetch.json").read_text())["route"] == "pmc"


def test_no_pdf_anywhere_lists_what_was_tried(
    server: LocalServer, doi_config: Config, tmp_path: Path
) -> None:
    message = serve_work(server, SREP)
    for link in message["link"]:
        server.add(route(link["URL"]), Reply.html(COOKIE_WALL))

    with pytest.raises(SourceError) as caught:
        fetch_doi_document(SREP, doi_config, tmp_path / "doc")

    reason = caught.value.reason
    assert caught.value.source == SREP
    for step in ("crossref-link", "HTML where a PDF", "unpaywall", "citation_pdf_url", "pmc"):
        assert step in reason
    assert f"make extract PDF=file.pdf DOI={SREP}" in reason
    assert sorted(p.name for p in (tmp_path / "doc").iterdir()) == ["fetch.json"]


def test_unknown_doi(server: LocalServer, doi_config: Config) -> None:
    body = (FIXTURES / "crossref" / "works_404_not_found.txt").read_bytes()  # real 404
    server.add("/works/10.1371/notarealdoi", Reply(404, body, {"Content-Type": "text/plain"}))
    with pytest.raises(SourceError, match="not found in Crossref") as caught:
        resolve_doi("10.1371/notarealdoi", doi_config)
    assert caught.value.source == "10.1371/notarealdoi"
    with pytest.raises(SourceError, match="not a DOI"):
        resolve_doi("not-a-doi", doi_config)


def test_crossref_429_then_success(server: LocalServer, doi_config: Config) -> None:
    record = crossref_record(SREP)
    server.add(f"/works/{SREP}", Reply(429, headers={"Retry-After": "1"}), Reply.json(record))
    started = time.monotonic()
    facts = resolve_doi(SREP, doi_config)
    assert facts.license == "CC BY 4.0" and server.hits(f"/works/{SREP}") == 2
    assert 0.95 <= time.monotonic() - started < 5


def test_crossref_timeout(
    server: LocalServer, doi_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPELINE_HTTP_READ_TIMEOUT", "0.3")
    monkeypatch.setenv("PIPELINE_HTTP_RETRIES", "0")
    server.add(f"/works/{SREP}", Reply(200, b"{}", {"Content-Type": "application/json"}, delay=1))
    with pytest.raises(SourceError, match="did not answer within 0.3 s"):
        resolve_doi(SREP, load_config())


def test_crossref_malformed_json_and_html(server: LocalServer, doi_config: Config) -> None:
    server.add(f"/works/{SREP}", Reply.json(b'{"status":"ok","message":{"DOI":'))
    with pytest.raises(SourceError, match="malformed JSON"):
        resolve_doi(SREP, doi_config)
    server.add(f"/works/{PONE}", Reply.html("<html>maintenance</html>"))
    with pytest.raises(SourceError, match="not JSON"):
        resolve_doi(PONE, doi_config)


def test_crossref_unreachable(
    pipeline_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPELINE_CROSSREF_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("PIPELINE_HTTP_RETRIES", "0")
    with pytest.raises(SourceError, match="private"):
        resolve_doi(SREP, load_config())  # a loopback base URL needs allowing first
    monkeypatch.setenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
    with pytest.raises(SourceError, match="could not connect to Crossref"):
        resolve_doi(SREP, load_config())


def test_licence_of_the_version_of_record(server: LocalServer, doi_config: Config) -> None:
    doi = "10.1136/esmoopen-2020-000776"  # Elsevier TDM licences first, then CC BY-NC (vor)
    server.add(f"/works/{doi}", Reply.json(crossref_record(doi)))
    assert resolve_doi(doi, doi_config).license == "CC BY-NC 4.0"


def test_licence_from_unpaywall_when_crossref_has_none(
    server: LocalServer, doi_config: Config, paper: Path, tmp_path: Path
) -> None:
    message = serve_work(server, PONE)
    del message["license"]
    server.add(f"/works/{PONE}", Reply.json({"status": "ok", "message": message}))
    record = unpaywall_record("10.1016_j.envint.2020.105730", PONE)  # "cc-by-nc-nd", no PDF
    record["oa_locations"][0]["url_for_pdf"] = "https://www.sciencedirect.com/oa.pdf"
    serve_unpaywall(server, PONE, record)
    server.add("/www.sciencedirect.com/oa.pdf", Reply.file(paper))

    facts, _ = fetch_doi_document(PONE, doi_config, tmp_path / "doc")
    again, _ = fetch_doi_document(PONE, doi_config, tmp_path / "doc")

    assert facts.license == again.license == "CC BY-NC-ND"  # Unpaywall names no version


def test_rerun_makes_no_request(
    server: LocalServer, doi_config: Config, paper: Path, tmp_path: Path
) -> None:
    message = serve_work(server, PONE)
    landing = message["resource"]["primary"]["URL"]
    server.add(route(landing), Reply.html('<meta name="citation_pdf_url" content="/a.pdf">'))
    server.add("/a.pdf", Reply.file(paper))
    first = fetch_doi_document(PONE, doi_config, tmp_path / "doc")
    asked = len(server.requests)

    again = fetch_doi_document(PONE, doi_config, tmp_path / "doc")

    assert again == first and len(server.requests) == asked
    (tmp_path / "doc" / "source.pdf").unlink()  # PDF gone: metadata and pages from the cache
    fetch_doi_document(PONE, doi_config, tmp_path / "doc")
    # Only 200s (and redirects) are cached: Unpaywall's 404 is asked again.
    assert [r.path for r in server.requests[asked:]] == [f"/unpaywall/v2/{PONE}", "/a.pdf"]


def test_extract_doi_stages_candidates_with_the_papers_facts(
    server: LocalServer, doi_config: Config, paper: Path
) -> None:
    store = Store.open(doi_config.path("staging_db"))
    message = serve_work(server, SREP)
    server.add(route(message["link"][0]["URL"]), Reply.file(paper))

    report = extract_doi(SREP, doi_config, store)

    assert report.source_id == doi_source_id(SREP) and len(report.staged) == 2
    assert (doi_config.path("extracted") / report.source_id / "source.pdf").exists()
    for row in store.candidates():
        fields = row.fields
        assert fields["doi"] == SREP and fields["license"] == "CC BY 4.0"
        assert fields["url"] == message["resource"]["primary"]["URL"]
        assert "Scientific Reports, 2015" in fields["other_notes"]
    asked = len(server.requests)
    again = extract_doi(SREP, doi_config, store)
    assert again.staged == [] and len(again.already_staged) == 2
    assert len(server.requests) == asked  # metadata and PDF from the first run


def test_extract_doi_failure_is_recorded(server: LocalServer, doi_config: Config) -> None:
    store = Store.open(doi_config.path("staging_db"))
    with pytest.raises(SourceError):
        extract_doi("10.1371/notarealdoi", doi_config, store)
    [source] = store.sources()
    assert source.status == "failed" and "not found in Crossref" in source.error
    assert source.kind == "doi" and source.location == "10.1371/notarealdoi"


def test_a_hand_downloaded_pdf_gets_the_dois_facts(
    server: LocalServer, doi_config: Config, paper: Path
) -> None:
    store = Store.open(doi_config.path("staging_db"))
    serve_work(server, PONE)
    extract_pdf(paper, doi_config, store, doi=PONE)
    rows = store.candidates()
    assert rows and all(row.fields["license"] == "CC BY 4.0" for row in rows)
    assert all(row.fields["doi"] == PONE for row in rows)
    assert [r.path for r in server.requests] == [f"/works/{PONE}"]  # no PDF hunt


def test_cli_extract_doi(server: LocalServer, server_env: dict[str, str], paper: Path) -> None:
    message = serve_work(server, SREP)
    server.add(route(message["link"][0]["URL"]), Reply.file(paper))
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "extract", "--doi", SREP, "--json"],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, **server_env},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert {row["modality"] for row in rows} == {"xray", "ct"}
    for row in rows:
        assert row["fields"]["doi"] == SREP and row["fields"]["license"] == "CC BY 4.0"
        assert row["fields"]["url"] == message["resource"]["primary"]["URL"]

    failed = subprocess.run(
        [sys.executable, "-m", "pipeline", "extract", "--doi", "10.1371/notarealdoi"],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, **server_env},
    )  # fmt: skip
    assert failed.returncode == 1
    assert "10.1371/notarealdoi" in failed.stderr and "not found in Crossref" in failed.stderr
