"""A local HTTP server on 127.0.0.1 that replays recorded responses for tests.

Register routes by path (and optionally query string); each route answers a sequence of
responses in turn, the last one repeating, so "429 then 200" is two entries. Every
request is logged so tests can assert what the client asked for.

Faults: `delay` before the headers (a hang), `pieces` sent one by one with `pause` between
them (a drip, or a chunked body with `chunked=True`), `cut_after` bytes of the body then
the connection closed (a partial body).

    with LocalServer() as server:
        server.add("/works/10.1/x", Reply.json(body))
        server.add("/paper.pdf", Reply(429, headers={"Retry-After": "1"}), Reply.file(pdf))
        client.get(server.url("/paper.pdf"))
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (timeouts)
    pieces: Callable[[], Iterable[bytes]] | None = None  # the body, sent piece by piece
    pause: float = 0.0  # seconds between pieces
    chunked: bool = False  # Transfer-Encoding: chunked (no Content-Length)
    declare_length: bool = True  # False: no Content-Length, the body ends when the server closes
    cut_after: int | None = None  # close the connection after this many body bytes

    @classmethod
    def drip(cls, body: bytes, pause: float, **headers: str) -> Reply:
        """The body one byte at a time, `pause` seconds apart (its length declared)."""
        return cls(200, body, headers, pieces=lambda: (bytes([b]) for b in body), pause=pause)

    @classmethod
    def json(cls, obj: Any, status: int = 200, **headers: str) -> Reply:
        body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        return cls(status, body, {"Content-Type": "application/json", **headers})

    @classmethod
    def html(cls, text: str, status: int = 200) -> Reply:
        return cls(status, text.encode(), {"Content-Type": "text/html; charset=utf-8"})

    @classmethod
    def file(cls, path: Path, content_type: str | None = None) -> Reply:
        guessed = {
            ".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg",
            ".jpeg": "image/jpeg", ".json": "application/json", ".html": "text/html",
        }.get(path.suffix.lower(), "application/octet-stream")  # fmt: skip
        return cls(200, path.read_bytes(), {"Content-Type": content_type or guessed})

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Reply:
        return cls(status, b"", {"Location": location})


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    at: float


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, *replies: Reply) -> None:
        """Answer `path` (with `?query` to match one query string exactly) with `replies`."""
        with self._lock:
            self.routes[path] = list(replies)

    def hits(self, path: str) -> int:
        return sum(1 for request in self.requests if request.path == path)

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_reply(self, path: str, query: str) -> Reply:
        with self._lock:
            replies = self.routes.get(f"{path}?{query}") or self.routes.get(path)
            if not replies:
                return Reply(404, b'{"status":"error","message":"not found"}',
                             {"Content-Type": "application/json"})  # fmt: skip
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                self._answer(send_body=True)

            def do_HEAD(self) -> None:  # noqa: N802
                self._answer(send_body=False)

            def _answer(self, send_body: bool) -> None:
                parts = urlsplit(self.path)
                server.requests.append(
                    LoggedRequest(
                        self.command, parts.path, parts.query, dict(self.headers), time.monotonic()
                    )  # fmt: skip
                )
                reply = server._next_reply(parts.path, parts.query)
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                elif reply.declare_length:
                    self.send_header("Content-Length", str(len(reply.body)))
                else:
                    self.close_connection = True
                self.end_headers()
                if send_body:
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError, OSError):
                        self._send_body(reply)

            def _send_body(self, reply: Reply) -> None:
                pieces = reply.pieces() if reply.pieces else [reply.body]
                sent = 0
                for piece in pieces:
                    if reply.cut_after is not None and sent + len(piece) > reply.cut_after:
                        self.wfile.write(piece[: reply.cut_after - sent])
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    framed = b"%x\r\n%s\r\n" % (len(piece), piece) if reply.chunked else piece
                    self.wfile.write(framed)
                    self.wfile.flush()
                    sent += len(piece)
                    if reply.pause:
                        time.sleep(reply.pause)
                if reply.chunked:
                    self.wfile.write(b"0\r\n\r\n")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        return Handler
