"""Discovery for the nightly run: Crossref cursor paging, the watchlist, sites, selection."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from pipeline.config import Config
from pipeline.nightly.discovery import (
    RouteResult,
    crossref_sources,
    make_ref,
    merge,
    parse_watchlist_line,
    retry_sources,
    select_pending,
    site_sources,
    watchlist_sources,
)
from pipeline.nightly.settings import HostLimit, load_nightly_settings
from pipeline.store import Store
from tests.httpserver import LocalServer, Reply

SINCE = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def crossref_page(dois: list[str], cursor: str | None, total: int) -> dict:
    """A works list shaped like Crossref's (message-type work-list, next-cursor, items)."""
    message = {"total-results": total, "items": [{"DOI": doi} for doi in dois],
               "items-per-page": len(dois), "query": {"start-index": 0}}  # fmt: skip
    if cursor:
        message["next-cursor"] = cursor
    return {"status": "ok", "message-type": "work-list", "message": message}


@pytest.fixture
def settings(config: Config):
    return replace(
        load_nightly_settings(config),
        crossref_queries=("COVID-19 chest radiograph",),
        crossref_rows=2,
        site_names=(),
    )


def test_crossref_pages_with_a_cursor_from_the_last_run(
    config: Config, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LocalServer() as server:
        server.add(
            "/works",
            Reply.json(crossref_page(["10.1/A", "10.1/b"], "c1", 5)),
            Reply.json(crossref_page(["10.1/c", "10.1/a"], "c2", 5)),
            Reply.json(crossref_page(["10.1/e"], "c3", 5)),
        )
        monkeypatch.setenv("PIPELINE_CROSSREF_URL", server.base_url)
        monkeypatch.setenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
        monkeypatch.setenv("PIPELINE_HTTP_RETRIES", "0")
        from pipeline.config import load_config

        result = crossref_sources(load_config(), settings, SINCE)
        asked = [parse_qs(request.query) for request in server.requests]
        agent = server.requests[0].headers.get("User-Agent", "")
    assert [ref.location for ref in result.refs] == ["10.1/a", "10.1/b", "10.1/c", "10.1/e"]
    assert {ref.route for ref in result.refs} == {"crossref"} and not result.problems
    assert [query["cursor"] for query in asked] == [["*"], ["c1"], ["c2"]]
    assert asked[0]["filter"] == ["from-index-date:2026-11-20,type:journal-article"]
    assert asked[0]["query"] == ["COVID-19 chest radiograph"] and asked[0]["rows"] == ["2"]
    assert config.contact_email in agent


def test_a_failing_crossref_query_is_reported_not_raised(
    config: Config, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LocalServer() as server:
        server.add("/works", Reply.json({"status": "error", "message": "down"}, status=500))
        monkeypatch.setenv("PIPELINE_CROSSREF_URL", server.base_url)
        monkeypatch.setenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
        monkeypatch.setenv("PIPELINE_HTTP_RETRIES", "0")
        from pipeline.config import load_config

        result = crossref_sources(load_config(), settings, SINCE)
    assert result.refs == [] and result.incomplete
    assert "COVID-19 chest radiograph" in result.problems[0]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("10.1148/RADIOL.2020200432", ("doi", "10.1148/radiol.2020200432")),
        ("https://doi.org/10.1000/X  # from a curator", ("doi", "10.1000/x")),
        ("doi:10.1000/y", ("doi", "10.1000/y")),
        (
            "https://radiopaedia.org/cases/covid-19-pneumonia-12",
            ("url", "https://radiopaedia.org/cases/covid-19-pneumonia-12"),
        ),  # noqa: E501
        ("http://h.org/paper.PDF?download=1", ("pdf-url", "http://h.org/paper.PDF?download=1")),
        (
            "https://www.eurorad.org/case/16683#figures",
            ("url", "https://www.eurorad.org/case/16683#figures"),
        ),  # noqa: E501
        ("   # a comment", None),
        ("", None),
    ],
)
def test_watchlist_lines(line: str, expected: tuple[str, str] | None) -> None:
    assert parse_watchlist_line(line) == expected


def test_watchlist_file_reports_bad_lines(tmp_path: Path, config: Config) -> None:
    path = tmp_path / "watchlist.txt"
    path.write_text(
        "# header\n10.1000/x\nftp://nope/file\nhttps://sirm.org/2020/03/05/covid-19-caso-7/\n"
    )
    result = watchlist_sources(path, config)
    assert [(ref.kind, ref.host) for ref in result.refs] == [
        ("doi", "api.crossref.org"), ("url", "sirm.org")
    ]  # fmt: skip
    assert result.problems == [
        "watchlist.txt line 3: not a DOI or an http(s) URL: 'ftp://nope/file'"
    ]
    assert not result.incomplete
    assert watchlist_sources(tmp_path / "missing.txt", config).refs == []


def test_sites_each_report_their_own_failure(config: Config, settings) -> None:
    def discoverer(site: str, query: str, since: datetime, _config: Config) -> list[str]:
        if site == "eurorad":
            raise TimeoutError("listing timed out")
        return [f"https://{site}.org/cases/{query.lower()}-1"]

    results = site_sources(config, replace(settings, site_names=("radiopaedia", "eurorad")),
                           SINCE, discoverer)  # fmt: skip
    assert [ref.location for ref in results[0].refs] == ["https://radiopaedia.org/cases/covid-19-1"]
    assert results[1].incomplete and "listing timed out" in results[1].problems[0]


def test_selection_skips_done_retries_failed_and_defers_the_rest(
    config: Config, store: Store, settings
) -> None:
    refs = [make_ref("doi", f"10.1/{n}", "crossref", config) for n in range(6)]
    store.record_source(refs[0].source_id, "doi", "10.1/0", images_found=1, candidates_staged=1)
    store.record_source(refs[1].source_id, "doi", "10.1/1", error="HTTP 503")
    for _ in range(3):
        store.record_source(refs[2].source_id, "doi", "10.1/2", error="no PDF")
    selection = select_pending(store, refs, replace(settings, max_sources=2, max_attempts=3))
    assert selection.done == refs[:1] and selection.gave_up == refs[2:3]
    assert selection.todo == [refs[1], refs[3]] and selection.deferred == refs[4:]
    retried = retry_sources(store, replace(settings, max_attempts=3), config)
    assert [ref.location for ref in retried.refs] == ["10.1/1"]


def test_merge_keeps_the_first_route_per_source(config: Config) -> None:
    a = RouteResult("crossref", [make_ref("doi", "10.1/X", "crossref", config)])
    b = RouteResult("watchlist", [make_ref("doi", "https://doi.org/10.1/x", "watchlist", config)])
    assert [ref.route for ref in merge([a, b])] == ["crossref"]


def test_settings_from_configs_and_environment(config: Config) -> None:
    settings = load_nightly_settings(
        config, env={"PIPELINE_NIGHTLY_RUN_MAX_SOURCES": "7", "PIPELINE_NIGHTLY_SITES_NAMES": ""}
    )
    assert settings.cron == "0 2 * * *" and settings.max_sources == 7 and settings.site_names == ()
    assert settings.host_limit("api.crossref.org") == HostLimit(3, 5.0)
    assert settings.host_limit("unknown.example") == settings.hosts["default"]
    assert any("ARDS" in query for query in settings.crossref_queries)
    shipped = watchlist_sources(settings.watchlist, config)  # configs/watchlist.txt
    assert shipped.refs == [] and shipped.problems == []
