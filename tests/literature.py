"""A made-up literature on 127.0.0.1 for backfill tests and benchmarks.

Papers with DOIs and publication dates; a Crossref stand-in that answers works queries
filtered by publication date (cursor paging, `select=DOI`) and each work (with a link to its
PDF); and PDF hosts, each a server that answers after a delay and counts the requests it
has in flight, so a test can say how many at once a host ever saw.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

Answer = tuple[int, str, bytes]  # status, content type, body


class CountingServer:
    """A threaded server answering `answer(path, query)` after `latency` seconds; it keeps
    the peak of requests in flight, the hits per path and when each request ran."""

    def __init__(self, answer: Callable[[str, dict[str, list[str]]], Answer],
                 latency: float = 0.0) -> None:  # fmt: skip
        self.answer = answer
        self.latency = latency
        self.in_flight = 0
        self.peak = 0
        self.hits: Counter[str] = Counter()
        self.spans: list[tuple[float, float]] = []  # (start, end) of each request
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                started = time.monotonic()
                with outer._lock:
                    outer.in_flight += 1
                    outer.peak = max(outer.peak, outer.in_flight)
                try:
                    parts = urlsplit(self.path)
                    path = unquote(parts.path)
                    with outer._lock:
                        outer.hits[path] += 1
                    if outer.latency:
                        time.sleep(outer.latency)
                    status, content_type, body = outer.answer(path, parse_qs(parts.query))
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with outer._lock:
                        outer.in_flight -= 1
                        outer.spans.append((started, time.monotonic()))

            def log_message(self, *_args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"http://{self.netloc}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass(frozen=True)
class Paper:
    number: int
    published: date
    host: int  # which PDF host serves it
    missing: bool = False  # its PDF link answers 404

    @property
    def doi(self) -> str:
        return f"10.5555/bf.{self.number}"


def papers(count: int, start: date, until: date, *, hosts: int,
           missing: Iterable[int] = ()) -> list[Paper]:  # fmt: skip
    """`count` papers spread evenly over the dates, round-robin over the hosts."""
    days = (until - start).days + 1
    gone = set(missing)
    return [Paper(n, start + timedelta(days=n * days // count), n % hosts, n in gone)
            for n in range(count)]  # fmt: skip


def _json(data: object) -> Answer:
    return 200, "application/json", json.dumps(data).encode()


class Literature:
    """The Crossref stand-in and the PDF hosts of a list of papers. `pdf(paper)` gives the
    bytes each paper's link serves (different bytes make different sources)."""

    def __init__(self, items: list[Paper], pdf: Callable[[Paper], bytes], *, hosts: int,
                 latency: float = 0.0) -> None:  # fmt: skip
        self.papers = {paper.doi: paper for paper in items}
        self.pdf = pdf
        self.crossref = CountingServer(self._crossref)
        self.hosts = [CountingServer(self._pdf_host, latency) for _ in range(hosts)]
        self.queries: list[dict[str, list[str]]] = []

    def close(self) -> None:
        for server in [self.crossref, *self.hosts]:
            server.close()

    def __enter__(self) -> Literature:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def pdf_path(self, paper: Paper) -> str:
        return f"/pdf/{paper.number}.pdf"

    def pdf_url(self, paper: Paper) -> str:
        return self.hosts[paper.host].base_url + self.pdf_path(paper)

    def hits(self, paper: Paper) -> int:
        return self.hosts[paper.host].hits[self.pdf_path(paper)]

    # -- answers ----------------------------------------------------------------------------

    def _crossref(self, path: str, query: dict[str, list[str]]) -> Answer:
        if path == "/works":
            self.queries.append(query)
            return _json(self._works(query))
        doi = path.removeprefix("/works/")
        paper = self.papers.get(doi)
        if paper is None:
            return 404, "text/plain", b"Resource not found."
        published = paper.published
        return _json({"status": "ok", "message-type": "work", "message": {
            "DOI": doi, "type": "journal-article",
            "title": [f"Chest imaging in COVID-19: case {paper.number}"],
            "container-title": ["Journal of Made-up Cases"],
            "published": {"date-parts": [[published.year, published.month, published.day]]},
            "license": [{"URL": "http://creativecommons.org/licenses/by/4.0/",
                         "content-version": "vor"}],
            "link": [{"URL": self.pdf_url(paper), "content-type": "application/pdf"}],
            "resource": {"primary": {"URL": self.pdf_url(paper).replace("/pdf/", "/page/")}},
        }})  # fmt: skip

    def _works(self, query: dict[str, list[str]]) -> dict:
        filters = dict(part.split(":", 1) for part in query.get("filter", [""])[0].split(",")
                       if ":" in part)  # fmt: skip
        first = date.fromisoformat(filters.get("from-pub-date", "1900-01-01"))
        last = date.fromisoformat(filters.get("until-pub-date", "2999-12-31"))
        found = sorted((p for p in self.papers.values() if first <= p.published <= last),
                       key=lambda paper: paper.number)  # fmt: skip
        rows = int(query.get("rows", ["20"])[0])
        cursor = query.get("cursor", ["*"])[0]
        offset = 0 if cursor == "*" else int(cursor.removeprefix("next-"))
        page = found[offset : offset + rows]
        message = {"total-results": len(found), "items": [{"DOI": p.doi} for p in page],
                   "items-per-page": rows, "next-cursor": f"next-{offset + len(page)}"}  # fmt: skip
        return {"status": "ok", "message-type": "work-list", "message": message}

    def _pdf_host(self, path: str, _query: dict[str, list[str]]) -> Answer:
        number = path.removeprefix("/pdf/").removesuffix(".pdf")
        paper = self.papers.get(f"10.5555/bf.{number}") if number.isdigit() else None
        if paper is None or paper.missing:
            return 404, "text/html", b"<html><body>Not found</body></html>"
        return 200, "application/pdf", self.pdf(paper)


def numbered_pdf(base: bytes) -> Callable[[Paper], bytes]:
    """One PDF made distinct per paper by a comment after %%EOF (the same images inside)."""
    return lambda paper: base + f"\n% paper {paper.number}\n".encode()
