"""SIGKILL a nightly run in the middle, run it again: nothing staged is lost, nothing is
staged twice, and the PDF that was half downloaded when the run died is not used."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipeline.config import Config
from pipeline.store import Store
from tests.pdfs import Figure, write_pdf
from tests.phantoms import chest_xray_frontal, ct_axial
from tests.processes import alive, descendants

REPO = Path(__file__).resolve().parents[1]

RUN = """
from dataclasses import replace
from pathlib import Path
from pipeline.config import load_config
from pipeline.nightly.run import run_nightly
from pipeline.nightly.settings import load_nightly_settings
from pipeline.store import Store
config = load_config()
settings = replace(load_nightly_settings(config), crossref_queries=(), site_names=(),
                   watchlist=Path({watchlist!r}), max_in_flight=2, processes={processes})
run_nightly(config, Store.open(config.path("staging_db")), settings)
"""


class PdfServer:
    """Serves PDFs; while `stall` is set, /slow.pdf sends half its body and then hangs."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.stall = threading.Event()
        self.stall.set()
        self.half_sent = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                body = outer.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/pdf")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path == "/slow.pdf" and outer.stall.is_set():
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    outer.half_sent.set()
                    time.sleep(60)  # the client dies first
                    return
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


def _pdf(path: Path, n: int) -> bytes:
    figures = [
        Figure(chest_xray_frontal(256, seed=10 + n), f"Figure 1. Chest radiograph, patient {n}."),
        Figure(ct_axial(256, seed=40 + n), f"Figure 2. Axial CT, patient {n}."),
    ]
    return write_pdf(path, [figures], title=f"Case report {n}").read_bytes()


def _run(env: dict[str, str], watchlist: Path, processes: int) -> subprocess.Popen:
    code = RUN.format(watchlist=str(watchlist), processes=processes)
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("processes", [1, 2], ids=["threads", "worker-processes"])
def test_sigkill_mid_run_then_rerun(
    tmp_path: Path, config: Config, store: Store, pipeline_env: dict[str, str], processes: int
) -> None:
    files = {f"/p{n}.pdf": _pdf(tmp_path / f"p{n}.pdf", n) for n in range(4)}
    files["/slow.pdf"] = _pdf(tmp_path / "slow.pdf", 9)
    server = PdfServer(files)
    watchlist = tmp_path / "watchlist.txt"
    watchlist.write_text("\n".join(server.url(path) for path in files) + "\n")
    env = {**os.environ, **pipeline_env, "PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
           "PYTHONPATH": str(REPO)}  # fmt: skip

    process = _run(env, watchlist, processes)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (server.half_sent.is_set() and store.candidates()):
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.05)
    assert server.half_sent.is_set(), "the slow download never started"
    workers = descendants(process.pid)
    if processes > 1:  # a worker at least, its fork server and the resource tracker
        assert len(workers) >= 3
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [Path(f"/proc/{pid}/cmdline").read_bytes()[:200] for pid in workers if alive(pid)]
    assert not left, f"outlived the killed run: {left}"
    staged_before = {row.id: row.image_sha256 for row in store.candidates()}
    assert staged_before
    downloads = config.path("extracted") / "downloads"
    slow_pdf = [p for p in downloads.glob("*slow.pdf*") if not p.name.startswith(".")]
    assert slow_pdf == [], "a half-downloaded PDF was left where a whole one would be"

    server.stall.clear()
    rerun = _run(env, watchlist, processes)
    assert rerun.wait(timeout=120) == 0, rerun.stderr.read().decode()

    rows = store.candidates()
    after = {row.id: row.image_sha256 for row in rows}
    assert all(after.get(cid) == sha for cid, sha in staged_before.items())  # nothing lost
    pairs = Counter((row.source_id, row.image_sha256) for row in rows)
    assert max(pairs.values()) == 1 and len(rows) == 2 * len(files)  # nothing twice
    whole = [p for p in downloads.glob("*slow.pdf") if not p.name.startswith(".")]
    assert len(whole) == 1 and whole[0].read_bytes() == files["/slow.pdf"]
    assert not list(downloads.glob(".*"))  # the temporary file of the killed run is gone
    assert all(source.status == "ok" for source in store.sources())
