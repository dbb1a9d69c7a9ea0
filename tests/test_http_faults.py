"""Faults on the wire: servers that drip, hang, bomb or cut off; bad answers; DNS rebinding.

Each fetch must end by its deadline with a named error, never keep a bad body (in the
cache or under its final name), and connect only to the address it checked.
"""

from __future__ import annotations

import gzip
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipeline.bodies import complete_pdf, json_object, pdf_head
from pipeline.config import Config, load_config
from pipeline.http import FetchError, HttpClient
from pipeline.netguard import source_deadline
from tests.httpserver import LocalServer, Reply
from tests.pdfs import case_report_pdf


@pytest.fixture
def fast_config(pipeline_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Config:
    """One-second deadlines, generous per-read timeouts: only the deadline can end a drip."""
    for name, value in {
        "ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
        "RETRIES": "2",
        "READ_TIMEOUT": "20",
        "FETCH_DEADLINE": "1",
        "SOURCE_DEADLINE": "30",
        "MAX_PAGE_MB": "1",
    }.items():
        monkeypatch.setenv(f"PIPELINE_HTTP_{name}", value)
    return load_config()


@pytest.fixture
def client(fast_config: Config, tmp_path: Path) -> Iterator[HttpClient]:
    with HttpClient(fast_config, cache_dir=tmp_path / "cache") as http:
        yield http


def timed(call, *args, **kwargs) -> tuple[FetchError, float]:  # noqa: ANN001
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        call(*args, **kwargs)
    return caught.value, time.monotonic() - started


# -- deadlines ------------------------------------------------------------------------------


def test_a_dripping_download_ends_at_the_deadline_and_leaves_no_file(
    server: LocalServer, client: HttpClient, tmp_path: Path
) -> None:
    server.add("/slow.pdf", Reply.drip(b"%PDF-1.4\n" + b"x" * 200, pause=0.1))
    dest = tmp_path / "docs" / "source.pdf"
    error, seconds = timed(client.download, server.url("/slow.pdf"), dest, check=pdf_head)
    assert "gave up after 1 s ([http] fetch_deadline)" in error.reason
    assert seconds < 2.5
    assert not dest.parent.exists() or list(dest.parent.iterdir()) == []


@pytest.mark.parametrize("kind", ["page", "json"])
def test_a_dripping_page_ends_at_the_deadline(
    server: LocalServer, client: HttpClient, kind: str
) -> None:
    server.add("/drip", Reply.drip(b'{"a": "' + b"y" * 100 + b'"}', pause=0.1))
    call = client.get_json if kind == "json" else client.get_text
    error, seconds = timed(call, server.url("/drip"))
    assert "[http] fetch_deadline" in error.reason and seconds < 2.5


def test_a_server_that_never_answers_costs_one_deadline_not_every_retry(
    server: LocalServer, client: HttpClient
) -> None:
    server.add("/hang", Reply(200, b"{}", delay=30))
    error, seconds = timed(client.get, server.url("/hang"))
    assert "gave up after 1 s" in error.reason and seconds < 2.5


def test_a_retry_after_beyond_the_deadline_is_not_waited_for(
    server: LocalServer, client: HttpClient
) -> None:
    server.add("/busy", Reply(503, headers={"Retry-After": "60"}))
    error, seconds = timed(client.get, server.url("/busy"))
    assert "[http] fetch_deadline" in error.reason and seconds < 2.5


def test_the_source_deadline_caps_every_fetch_inside_it(
    server: LocalServer, client: HttpClient, fast_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPELINE_HTTP_SOURCE_DEADLINE", "1.5")
    server.add("/drip", Reply.drip(b"z" * 100, pause=0.1))
    server.add("/ok", Reply.json({"ok": True}))
    started = time.monotonic()
    with source_deadline(load_config().http.source_deadline):
        for _ in range(2):  # 1 s each by their own deadline: the second gets what is left
            with pytest.raises(FetchError):
                client.get(server.url("/drip"))
        error, _seconds = timed(client.get, server.url("/ok"))
    assert "[http] source_deadline" in error.reason
    assert time.monotonic() - started < 3.0
    assert client.get_json(server.url("/ok")) == {"ok": True}  # outside: a fresh allowance


# -- size caps ------------------------------------------------------------------------------


def test_an_oversized_chunked_body_is_refused_at_the_cap(
    server: LocalServer, client: HttpClient
) -> None:
    block = b"[" + b"0," * 500_000 + b"0]"  # 1 MB of JSON a chunk, no Content-Length
    server.add("/works", Reply(200, headers={"Content-Type": "application/json"},
                               pieces=lambda: iter([block] * 40), chunked=True))  # fmt: skip
    error, _ = timed(client.get_json, server.url("/works"))
    assert "body is over the 1.0 MB cap" in error.reason


def test_a_gzip_bomb_is_refused_at_the_decoded_cap(server: LocalServer, client: HttpClient) -> None:
    bomb = gzip.compress(b"{" + b" " * 40_000_000 + b"}", compresslevel=9)
    server.add("/bomb", Reply(200, bomb, {"Content-Encoding": "gzip"}, chunked=True,
                              pieces=lambda: iter([bomb])))  # fmt: skip
    error, _ = timed(client.get_json, server.url("/bomb"))
    assert "body is over the 1.0 MB cap" in error.reason


# -- only validated bodies are kept --------------------------------------------------------


def test_malformed_json_is_not_cached(server: LocalServer, client: HttpClient) -> None:
    good = {"doi": "10.1/x", "is_oa": True}
    server.add("/v2/10.1/x", Reply.json(b'{"doi": "10.1/x", "is_oa'), Reply.json(good))
    with pytest.raises(FetchError, match="malformed JSON"):
        client.get_json(server.url("/v2/10.1/x"))
    assert client.get_json(server.url("/v2/10.1/x")) == good  # asked again, not replayed
    assert client.get_json(server.url("/v2/10.1/x")) == good  # now from the cache
    assert server.hits("/v2/10.1/x") == 2


def test_json_of_the_wrong_shape_is_refused_and_not_cached(
    server: LocalServer, client: HttpClient
) -> None:
    server.add("/v2/10.1/y", Reply.json(["not", "a", "record"]))
    for _ in range(2):
        with pytest.raises(FetchError, match="JSON list where an object was expected"):
            client.get_json(server.url("/v2/10.1/y"), expect=json_object("doi"))
    assert server.hits("/v2/10.1/y") == 2


def test_a_bad_body_cached_before_is_dropped_and_fetched_again(
    server: LocalServer, client: HttpClient
) -> None:
    server.add("/w", Reply.json(b"<html>captcha</html>"), Reply.json({"doi": "10.1/w"}))
    client.get(server.url("/w"))  # cached by a caller that did not validate (as releases did)
    assert client.get_json(server.url("/w"), expect=json_object("doi")) == {"doi": "10.1/w"}
    assert client.get_json(server.url("/w"), expect=json_object("doi")) == {"doi": "10.1/w"}
    assert server.hits("/w") == 2


def test_half_a_pdf_never_takes_the_final_name(
    server: LocalServer, client: HttpClient, tmp_path: Path
) -> None:
    whole = case_report_pdf(tmp_path / "whole.pdf").read_bytes()
    dest = tmp_path / "docs" / "source.pdf"
    kind = {"Content-Type": "application/pdf"}
    # A 200 whose connection closes half way: with its length declared (noticed while
    # reading), and without (the body just ends: only the complete-file check sees it).
    for declared in (True, False):
        server.add("/half.pdf", Reply(200, whole, kind, cut_after=len(whole) // 2,
                                      declare_length=declared))  # fmt: skip
        error, _ = timed(client.download, server.url("/half.pdf"), dest, check=pdf_head,
                         complete=complete_pdf)  # fmt: skip
        assert ("interrupted" if declared else "truncated PDF") in error.reason
        assert not dest.exists() and list(dest.parent.iterdir()) == []
    server.add("/whole.pdf", Reply(200, whole, {"Content-Type": "application/pdf"}))
    client.download(server.url("/whole.pdf"), dest, check=pdf_head, complete=complete_pdf)
    assert dest.read_bytes() == whole


# -- DNS rebinding --------------------------------------------------------------------------


def test_the_connection_goes_to_the_address_that_was_checked(
    server: LocalServer, fast_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resolver answering a public address first and loopback after (rebinding): the
    name is resolved once, and the connection is made to that checked public address."""
    import urllib3.util.connection as connection

    answers = iter(["93.184.216.34", "127.0.0.1"])
    asked: list[str] = []
    real = socket.getaddrinfo

    def rebinding(host: str, port: object, *args: object, **kwargs: object) -> list:
        if host != "rebind.example":
            return real(host, port, *args, **kwargs)
        address = next(answers, "127.0.0.1")
        asked.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    connected: list[str] = []

    def refuse_to_connect(address: tuple[str, int], *args: object, **kwargs: object) -> None:
        connected.append(address[0])
        raise OSError("no route in this test")

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(connection, "create_connection", refuse_to_connect)
    port = server.base_url.rsplit(":", 1)[1]
    monkeypatch.setenv("PIPELINE_HTTP_RETRIES", "0")
    with HttpClient(load_config(), cache=False) as http, pytest.raises(FetchError):
        http.get(f"http://rebind.example:{port}/secret")
    assert asked == ["93.184.216.34"] and connected == ["93.184.216.34"]
    assert server.requests == []
    with (
        HttpClient(load_config(), cache=False) as http,
        pytest.raises(
            FetchError, match=r"rebind.example is a loopback or private address \(127.0.0.1\)"
        ),
    ):
        http.get(f"http://rebind.example:{port}/secret")  # the loopback answer is refused
    assert connected == ["93.184.216.34"] and server.requests == []


def _self_signed(host: str, folder: Path) -> tuple[Path, Path]:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


def test_tls_names_the_host_while_connecting_to_the_checked_address(
    tmp_path: Path, fast_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SNI, the certificate check and the Host header use the URL's name, not the address."""
    host = "papers.example"
    cert, key = _self_signed(host, tmp_path)
    seen: dict[str, str | None] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen["host"] = self.headers["Host"]
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            return

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: seen.__setitem__("sni", name)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda name, *rest, **kw: real(
        "127.0.0.1" if name == host else name, *rest, **kw))  # fmt: skip
    monkeypatch.setenv("PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS", host)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    try:
        with HttpClient(load_config(), cache=False) as http:
            assert http.get_text(f"https://{host}:{httpd.server_address[1]}/x") == "ok"
    finally:
        httpd.shutdown()
    assert seen["sni"] == host and seen["host"].startswith(host)


def test_a_source_is_given_up_at_its_deadline_and_the_reason_recorded(
    server: LocalServer, fast_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.errors import SourceError
    from pipeline.extract import extract
    from pipeline.sources import open_source
    from pipeline.store import Store

    monkeypatch.setenv("PIPELINE_HTTP_FETCH_DEADLINE", "30")
    monkeypatch.setenv("PIPELINE_HTTP_SOURCE_DEADLINE", "1")
    config = load_config()
    store = Store.open(config.path("staging_db"))
    server.add("/paper.pdf", Reply.drip(b"%PDF-1.4\n" + b"x" * 200, pause=0.1))
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"gave up after 1 s \(\[http\] source_deadline\)"):
        extract(open_source("pdf-url", server.url("/paper.pdf")), config, store)
    assert time.monotonic() - started < 3.0
    [record] = store.sources()
    assert record.status == "failed" and "source_deadline" in (record.error or "")
