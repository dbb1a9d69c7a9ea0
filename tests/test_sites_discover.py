"""`discover`: case URLs from each site's search or listing pages, following next links."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from datetime import date

import pytest

from pipeline.config import Config, load_config
from pipeline.http import HttpClient
from pipeline.sources.sites.base import SiteBlocked
from pipeline.sources.sites.cli import register
from pipeline.sources.sites.discover import discover_cases
from pipeline.sources.sites.fetcher import SiteFetcher
from tests.fixtures.sites.serve import page, quick_server, robots
from tests.httpserver import LocalServer, Reply

LISTINGS = {
    "radiopaedia": [("/search?q=covid-19&scope=cases", "search-1.html"),
                    ("/search?page=2&q=covid-19&scope=cases", "search-2.html")],
    "eurorad": [("/advanced-search?search=covid-19", "search-1.html"),
                ("/advanced-search?search=covid-19&page=1", "search-2.html")],
    "sirm": [("/?s=covid-19", "search-1.html"), ("/page/2/?s=covid-19", "search-2.html")],
}  # fmt: skip


@pytest.fixture(params=sorted(LISTINGS))
def site(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with quick_server() as local:
        yield local


@pytest.fixture
def site_config(
    site: str, server: LocalServer, pipeline_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Config:
    monkeypatch.setenv(f"PIPELINE_{site.upper()}_URL", server.base_url)
    monkeypatch.setenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
    robots(server)
    for path, name in LISTINGS[site]:
        server.add(path, Reply.html(page(site, name, server.base_url)))
    return load_config()


@pytest.fixture
def fetcher(site_config: Config) -> Iterator[SiteFetcher]:
    with HttpClient(site_config, cache=False) as client:
        yield SiteFetcher(client, "covid-image-pipeline")


EXPECTED = {
    "radiopaedia": ["/cases/covid-19-pneumonia-12", "/cases/covid-19-pneumonia-ards",
                    "/cases/covid-19-pneumonia-bedside-film"],
    "eurorad": ["/case/16664", "/case/16690", "/case/16801"],
    "sirm": ["/2020/03/11/covid-19-caso-13/", "/2020/03/10/covid-19-caso-12/",
             "/2020/02/28/covid-19-caso-1/"],
}  # fmt: skip


def test_discover_follows_next_pages(
    site: str, server: LocalServer, site_config: Config, fetcher: SiteFetcher
) -> None:
    found = list(discover_cases(site, "covid-19", site_config, fetcher=fetcher))
    assert [case["url"] for case in found] == [server.url(path) for path in EXPECTED[site]]
    assert all(case["site"] == site and case["title"] for case in found)


def test_discover_max_pages(
    site: str, server: LocalServer, site_config: Config, fetcher: SiteFetcher
) -> None:
    found = list(discover_cases(site, "covid-19", site_config, max_pages=1, fetcher=fetcher))
    assert len(found) == 2


def test_discover_since_drops_older_dated_cases(
    site: str, server: LocalServer, site_config: Config, fetcher: SiteFetcher
) -> None:
    found = list(
        discover_cases(site, "covid-19", site_config, since=date(2020, 3, 1), fetcher=fetcher)
    )
    dated = {"radiopaedia": 2, "eurorad": 3, "sirm": 2}  # Eurorad's listing shows no dates
    assert len(found) == dated[site]


def test_discover_captcha_stops_the_site(
    site: str, server: LocalServer, site_config: Config, fetcher: SiteFetcher
) -> None:
    captcha = '<html><body><form><div class="g-recaptcha" data-sitekey="k"></div></form></body>'
    path, _name = LISTINGS[site][0]
    server.add(path, Reply.html(captcha))
    with pytest.raises(SiteBlocked, match="captcha"):
        list(discover_cases(site, "covid-19", site_config, fetcher=fetcher))
    assert site in fetcher.blocked


def run_discover(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["discover", *argv])
    return args.func(args)


def test_discover_command(
    site: str,
    server: LocalServer,
    site_config: Config,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # One listing page spaced from robots.txt by the default second is enough here.
    assert run_discover("--site", site, "--query", "covid-19", "--json", "--max-pages", "1") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["url"] for line in lines] == [
        server.url(path) for path in EXPECTED[site][:2]
    ]


def test_discover_command_reports_a_failure(
    site: str, server: LocalServer, site_config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    robots(server, "User-agent: *\nDisallow: /\n")
    assert run_discover("--site", site, "--query", "covid-19") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith(f"discover {site} 'covid-19': ") and "robots.txt" in line
