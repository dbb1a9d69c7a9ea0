"""The shared HTTP client against a local server: retries, caps, refusals, cache, rate limit."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.config import Config, load_config
from pipeline.http import FetchError, HttpClient, check_url, fetch_gate
from tests.httpserver import LocalServer, Reply

PDF_BYTES = b"%PDF-1.4\n" + b"0" * 4000 + b"\n%%EOF\n"


def pdf_only(first: bytes) -> str | None:
    return None if first.startswith(b"%PDF-") else "HTML where a PDF was expected"


@pytest.fixture
def http_config(pipeline_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
    monkeypatch.setenv("PIPELINE_HTTP_RETRIES", "2")
    monkeypatch.setenv("PIPELINE_HTTP_READ_TIMEOUT", "5")
    return load_config()


@pytest.fixture
def client(http_config: Config, tmp_path: Path) -> Iterator[HttpClient]:
    with HttpClient(http_config, cache_dir=tmp_path / "cache") as http:
        yield http


def test_sends_user_agent_with_project_and_contact(
    server: LocalServer, client: HttpClient, http_config: Config
) -> None:
    server.add("/a", Reply.json({"ok": True}))
    assert client.get_json(server.url("/a")) == {"ok": True}
    agent = server.requests[0].headers["User-Agent"]
    assert "covid-image-pipeline" in agent and f"mailto:{http_config.contact_email}" in agent


def test_429_then_success_honours_retry_after(server: LocalServer, client: HttpClient) -> None:
    server.add("/busy", Reply(429, headers={"Retry-After": "1"}), Reply.json({"n": 1}))
    started = time.monotonic()
    assert client.get_json(server.url("/busy")) == {"n": 1}
    first, second = (r.at for r in server.requests if r.path == "/busy")
    assert second - first >= 0.95 and time.monotonic() - started < 5


def test_503_until_retries_run_out(server: LocalServer, client: HttpClient) -> None:
    server.add("/down", Reply(503, headers={"Retry-After": "0"}))
    with pytest.raises(FetchError, match="HTTP 503") as caught:
        client.get(server.url("/down"))
    assert caught.value.status == 503 and server.hits("/down") == 3  # 1 + 2 retries


def test_404_is_not_retried(server: LocalServer, client: HttpClient) -> None:
    with pytest.raises(FetchError, match="HTTP 404") as caught:
        client.get(server.url("/nothing"))
    assert caught.value.status == 404 and server.hits("/nothing") == 1


def test_timeout(server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
    monkeypatch.setenv("PIPELINE_HTTP_READ_TIMEOUT", "0.3")
    monkeypatch.setenv("PIPELINE_HTTP_RETRIES", "0")
    server.add("/slow", Reply(200, b"{}", delay=1.0))
    with HttpClient(load_config(), cache=False) as http, pytest.raises(FetchError, match="timed"):
        http.get(server.url("/slow"))


def test_malformed_json(server: LocalServer, client: HttpClient) -> None:
    server.add("/bad", Reply.json(b'{"message": {"title": '))
    with pytest.raises(FetchError, match="malformed JSON"):
        client.get_json(server.url("/bad"))


def test_download_refuses_html_and_leaves_no_file(
    server: LocalServer, client: HttpClient, tmp_path: Path
) -> None:
    server.add("/paper.pdf", Reply.html("<!DOCTYPE html><html>Please accept cookies</html>"))
    dest = tmp_path / "out" / "source.pdf"
    with pytest.raises(FetchError, match="HTML where a PDF was expected"):
        client.download(server.url("/paper.pdf"), dest, check=pdf_only)
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_download_writes_the_whole_file(
    server: LocalServer, client: HttpClient, tmp_path: Path
) -> None:
    server.add("/paper.pdf", Reply(200, PDF_BYTES, {"Content-Type": "application/pdf"}))
    dest = client.download(server.url("/paper.pdf"), tmp_path / "a.pdf", check=pdf_only)
    assert dest.read_bytes() == PDF_BYTES


def test_download_over_the_size_cap_keeps_the_old_file(
    server: LocalServer, client: HttpClient, tmp_path: Path
) -> None:
    server.add("/big.pdf", Reply(200, PDF_BYTES, {"Content-Type": "application/pdf"}))
    dest = tmp_path / "source.pdf"
    dest.write_bytes(b"%PDF-old")
    with pytest.raises(FetchError, match="cap"):
        client.download(server.url("/big.pdf"), dest, max_bytes=1000, check=pdf_only)
    assert dest.read_bytes() == b"%PDF-old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cache", "source.pdf"]


def test_download_cap_from_config(
    server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
    monkeypatch.setenv("PIPELINE_HTTP_MAX_DOWNLOAD_MB", "0")
    server.add("/big.pdf", Reply(200, PDF_BYTES, {"Content-Type": "application/pdf"}))
    with HttpClient(load_config(), cache=False) as http, pytest.raises(FetchError, match="cap"):
        http.download(server.url("/big.pdf"), tmp_path / "x.pdf")


def test_redirects_are_followed_then_capped(server: LocalServer, client: HttpClient) -> None:
    server.add("/old", Reply.redirect("/new"))
    server.add("/new", Reply.json({"here": True}))
    response = client.get(server.url("/old"))
    assert response.json() == {"here": True} and response.url == server.url("/new")
    for hop in range(10):
        server.add(f"/loop{hop}", Reply.redirect(f"/loop{hop + 1}"))
    with pytest.raises(FetchError, match="more than 5 redirects"):
        client.get(server.url("/loop0"))
    assert server.hits("/loop6") == 0


def test_each_redirect_hop_is_checked(server: LocalServer, client: HttpClient) -> None:
    server.add("/to-file", Reply.redirect("file:///etc/passwd"))
    with pytest.raises(FetchError, match="only http"):
        client.get(server.url("/to-file"))
    host, port = server.base_url.rsplit(":", 1)
    server.add("/to-localhost", Reply.redirect(f"http://localhost:{port}/secret"))
    with pytest.raises(FetchError, match="loopback or private"):
        client.get(server.url("/to-localhost"))
    assert server.hits("/secret") == 0


def test_a_fetch_holds_the_gate_of_the_host_it_talks_to(
    server: LocalServer, pipeline_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shared per-host limit (the backfill's) counts every request at the host that serves
    it: a redirect to another host gives the first host's slot back and takes the next's."""
    monkeypatch.setenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", "127.0.0.1, localhost")
    port = server.base_url.rsplit(":", 1)[1]
    first, other = f"127.0.0.1:{port}", f"localhost:{port}"
    server.add("/old", Reply.redirect("/moved"))
    server.add("/moved", Reply.redirect(f"http://{other}/new"))
    server.add("/new", Reply(200, PDF_BYTES, {"Content-Type": "application/pdf"}))
    events: list[tuple[str, str]] = []
    held: list[str] = []

    @contextlib.contextmanager
    def gate(host: str) -> Iterator[None]:
        assert not held, f"{host} taken while {held} is still held"
        held.append(host)
        events.append(("take", host))
        try:
            yield
        finally:
            held.remove(host)
            events.append(("give", host))

    with HttpClient(load_config(), cache=False) as http, fetch_gate(gate):
        assert http.get(f"http://{first}/old").content == PDF_BYTES
        assert events == [("take", first), ("give", first), ("take", other), ("give", other)]
        events.clear()
        http.get(f"http://{first}/moved")  # through the same code path as downloads
        assert [host for step, host in events if step == "take"] == [first, other]
    assert not held and server.hits("/new") == 2


def test_waiting_for_a_redirect_targets_turn_is_not_held_against_the_fetch(
    server: LocalServer, pipeline_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fetch deadline is for a slow server, not for a busy shared limit: a redirect
    whose target host is at its limit waits for its turn without the fetch timing out."""
    monkeypatch.setenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", "127.0.0.1, localhost")
    monkeypatch.setenv("PIPELINE_HTTP_FETCH_DEADLINE", "1")
    port = server.base_url.rsplit(":", 1)[1]
    server.add("/doi", Reply.redirect(f"http://localhost:{port}/article"))
    server.add("/article", Reply(200, PDF_BYTES, {"Content-Type": "application/pdf"}))

    @contextlib.contextmanager
    def busy_at_localhost(host: str) -> Iterator[None]:
        if host.startswith("localhost"):
            time.sleep(1.5)  # the host's slots are all taken for a while
        yield

    with HttpClient(load_config(), cache=False) as http, fetch_gate(busy_at_localhost):
        assert http.get(server.url("/doi")).content == PDF_BYTES


def test_a_share_of_a_rate_is_never_rounded_up() -> None:
    from pipeline.http import _rates

    assert [(r.limit, r.interval) for r in _rates(10 / 6, None)] == [(1, 1000)]
    assert [(r.limit, r.interval) for r in _rates(0.5, None)] == [(1, 2000)]
    assert [(r.limit, r.interval) for r in _rates(10, None)] == [(10, 1000)]


def test_private_addresses_refused_unless_configured(
    server: LocalServer, pipeline_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add("/a", Reply.json({}))
    monkeypatch.delenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", raising=False)
    with HttpClient(load_config(), cache=False) as http, pytest.raises(FetchError, match="private"):
        http.get(server.url("/a"))
    assert server.requests == []
    for refused in ("http://10.1.2.3/x", "http://192.168.0.1/", "http://[::1]:8080/", "ftp://a/"):
        with pytest.raises(FetchError):
            check_url(refused)
    check_url("http://93.184.216.34/paper.pdf")  # a public address passes (no DNS asked)
    monkeypatch.setenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
    with HttpClient(load_config(), cache=False) as http:
        assert http.get_json(server.url("/a")) == {}


def test_cache_answers_a_rerun(server: LocalServer, http_config: Config, tmp_path: Path) -> None:
    server.add("/works/x", Reply.json({"title": "cached"}))
    with HttpClient(http_config, cache_dir=tmp_path / "c") as http:
        assert http.get_json(server.url("/works/x")) == {"title": "cached"}
        assert http.get_json(server.url("/works/x")) == {"title": "cached"}
    with HttpClient(http_config, cache_dir=tmp_path / "c") as http:  # a new process, same file
        assert http.get_json(server.url("/works/x")) == {"title": "cached"}
    assert server.hits("/works/x") == 1
    with HttpClient(http_config, cache=False) as http:
        http.get_json(server.url("/works/x"))
    assert server.hits("/works/x") == 2


def test_cache_file_defaults_under_metadata(http_config: Config) -> None:
    with HttpClient(http_config) as http:
        assert http.cache_path == http_config.path("metadata") / "http-cache" / "http.sqlite"


def test_min_interval_spaces_requests_to_one_host(server: LocalServer, http_config: Config) -> None:
    for name in "abc":
        server.add(f"/{name}", Reply.json({}))
    with HttpClient(http_config, cache=False, min_interval=0.4) as http:
        for name in "abc":
            http.get(server.url(f"/{name}"))
    times = [request.at for request in server.requests]
    # Arrival times carry the server thread's scheduling delay (up to a tenth of a second or so
    # on a busy 2-core machine); unspaced requests would arrive milliseconds apart.
    assert all(later - earlier >= 0.25 for earlier, later in zip(times, times[1:], strict=False))
    assert times[-1] - times[0] >= 0.7


def test_at_most_three_requests_to_a_host_at_once(server: LocalServer, http_config: Config) -> None:
    from concurrent.futures import ThreadPoolExecutor

    for n in range(6):
        server.add(f"/slow{n}", Reply(200, b"{}", delay=1.0))
    with HttpClient(http_config, cache=False) as http, ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda n: http.get(server.url(f"/slow{n}")), range(6)))
    times = sorted(request.at for request in server.requests)
    # Three start together; the next three only once the first answers have come back.
    assert times[2] - times[0] < 0.9 and times[3] - times[0] >= 0.95


def test_download_cap_holds_when_the_declared_length_is_small(
    server: LocalServer, client: HttpClient, tmp_path: Path
) -> None:
    import gzip

    body = gzip.compress(b"%PDF-1.4\n" + b"\0" * 3_000_000)  # 3 MB that travel as ~3 KB
    server.add("/bomb.pdf", Reply(200, body, {"Content-Encoding": "gzip"}))
    with pytest.raises(FetchError, match="body is over the 1.0 MB cap"):
        client.download(server.url("/bomb.pdf"), tmp_path / "bomb.pdf", max_bytes=1024 * 1024)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cache"]


def _gzip_of_zeros(size: int) -> bytes:
    """`size` zero bytes gzip-compressed, built without holding them all in memory."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip container
    block = bytes(1024 * 1024)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    return b"".join([*parts, packer.flush()])


@pytest.fixture
def one_mb_pages(http_config: Config, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("PIPELINE_HTTP_MAX_PAGE_MB", "1")
    return load_config()


def test_page_over_the_cap_by_content_length_is_refused_unread(
    server: LocalServer, one_mb_pages: Config, tmp_path: Path
) -> None:
    import tracemalloc

    server.add("/huge.html", Reply.html("<p>" + "x" * 8_000_000))
    with HttpClient(one_mb_pages, cache_dir=tmp_path / "c") as http:
        tracemalloc.start()
        try:
            with pytest.raises(FetchError, match=r"huge\.html: 7\.6 MB is over the 1\.0 MB cap"):
                http.get_text(server.url("/huge.html"))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 512 * 1024  # the body was never read
        with pytest.raises(FetchError, match="cap"):  # not cached: asked again, refused again
            http.get_text(server.url("/huge.html"))
    assert server.hits("/huge.html") == 2


def test_gzip_page_over_the_cap_once_decoded_is_refused_and_not_cached(
    server: LocalServer, one_mb_pages: Config, tmp_path: Path
) -> None:
    import tracemalloc

    body = _gzip_of_zeros(64 * 1024 * 1024)  # 64 MB that travel as ~64 KB
    assert len(body) < 1024 * 1024
    server.add("/bomb.json", Reply.json(body, **{"Content-Encoding": "gzip"}))
    with HttpClient(one_mb_pages, cache_dir=tmp_path / "c") as http:
        tracemalloc.start()
        try:
            with pytest.raises(FetchError, match=r"bomb\.json: body is over the 1\.0 MB cap"):
                http.get_json(server.url("/bomb.json"))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 8 * 1024 * 1024  # reading stopped near the cap, far short of 64 MB
        with pytest.raises(FetchError, match="cap"):
            http.get(server.url("/bomb.json"))
    assert server.hits("/bomb.json") == 2


def test_page_under_the_cap_is_cached_gzip_and_all(
    server: LocalServer, one_mb_pages: Config, tmp_path: Path
) -> None:
    import gzip

    text = "<p>" + "y" * 900_000  # under 1 MB decoded
    server.add("/page.html", Reply(200, gzip.compress(text.encode()), {"Content-Encoding": "gzip"}))
    for _run in range(2):  # the second run is a new process reading the same cache file
        with HttpClient(one_mb_pages, cache_dir=tmp_path / "c") as http:
            assert http.get_text(server.url("/page.html")) == text
            assert http.get(server.url("/page.html")).content == text.encode()
    assert server.hits("/page.html") == 1
    # A cached body over a smaller cap is refused too.
    with (
        HttpClient(one_mb_pages, cache_dir=tmp_path / "c") as http,
        pytest.raises(FetchError, match="over the 0.5 MB cap"),
    ):
        http.get(server.url("/page.html"), max_bytes=512 * 1024)
    assert server.hits("/page.html") == 1


def test_refused_pages_free_their_connections(
    server: LocalServer, one_mb_pages: Config, tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    server.add("/huge", Reply(200, b"x" * 2_000_000))
    server.add("/bomb", Reply(200, _gzip_of_zeros(4 * 1024 * 1024), {"Content-Encoding": "gzip"}))
    server.add("/ok", Reply.json({"ok": True}))
    with HttpClient(one_mb_pages, cache_dir=tmp_path / "c") as http:
        for path in ["/huge", "/bomb"] * 4:  # more refusals than the 3 pooled connections
            with pytest.raises(FetchError, match="cap"):
                http.get(server.url(path))
        with ThreadPoolExecutor(1) as pool:  # a leaked connection would block here for ever
            assert pool.submit(http.get_json, server.url("/ok")).result(timeout=5) == {"ok": True}
