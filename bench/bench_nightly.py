"""Benchmark: a nightly run over 1,000 sources served by local servers with real latency.

Five local "hosts" (one server each, on its own port) serve 200 PDF links each, answering
after a delay like a remote site; the watchlist lists all 1,000. The real command runs
(`python -m flows.nightly`, a Prefect flow with its temporary server) under per-host limits
written to a nightly.toml for the bench. Checks:
- wall time of the extract step within 20% of what the per-host limits allow;
- peak memory (RSS) of the run's process under 500 MB (Prefect's temporary server, a
  separate process, is not counted: with `make server` it is not part of the run), and of
  its worker processes (`[run] processes`) under WORKER_MB each;
- a second run, with nothing new, under 30 s in all.
Exits 1 when a check fails (`make bench` stops there). It also prints the CPU seconds of
each kind of process (the run's own, Prefect's temporary server, the workers), which share
the machine's cores: where the time over the limits went.

Needs no data from ../shared/data: the PDFs are generated (tests/pdfs.py, tests/phantoms.py).
    .venv/bin/python bench/bench_nightly.py [--sources 1000] [--hosts 5] [--processes N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LATENCY = 0.25  # seconds before a host answers
RATE = 4.0  # sources started per second per host
CONCURRENCY = 3  # sources in flight per host
WORKER_MB = 250  # peak resident memory of one worker process (their fork server counts as one)


def serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """A threaded server on a free loopback port, serving in the background."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def send_body(handler: BaseHTTPRequestHandler, content_type: str, body: bytes) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class PdfHost:
    """One remote host: /<n>.pdf answers, after LATENCY, a PDF that differs per n."""

    def __init__(self, pdf: bytes) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                time.sleep(LATENCY)
                # A comment after %%EOF makes each PDF (and so each source) distinct.
                body = pdf + f"\n% source {self.server.server_address} {self.path}\n".encode()
                send_body(self, "application/pdf", body)

            def log_message(self, *_args: object) -> None:
                return

        self.httpd = serve(Handler)

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"


class EmptyCrossref(PdfHost):
    """Crossref's works query, answering one empty page (the query path runs, finds nothing)."""

    def __init__(self) -> None:
        body = json.dumps({"status": "ok", "message-type": "work-list",
                           "message": {"total-results": 0, "items": []}}).encode()  # fmt: skip

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                send_body(self, "application/json", body)

            def log_message(self, *_args: object) -> None:
                return

        self.httpd = serve(Handler)


def nightly_toml(
    path: Path, hosts: list[PdfHost], watchlist: Path, max_sources: int, processes: int
) -> None:
    limits = "\n".join(
        f'[hosts."{host.netloc}"]\nconcurrency = {CONCURRENCY}\nrate = {RATE}\n' for host in hosts
    )
    path.write_text(f"""
[schedule]
cron = "0 2 * * *"
[run]
max_sources = {max_sources}
max_attempts = 3
retries = 1
retry_delay_seconds = 1
max_in_flight = {CONCURRENCY * len(hosts)}
processes = {processes}
first_run_lookback_days = 7
[crossref]
queries = ["COVID-19 chest radiograph case report"]
[watchlist]
path = "{watchlist}"
[sites]
names = []
[hosts.default]
concurrency = 2
rate = 1.0
{limits}""")


FLOW = """
import json, resource
from flows.nightly import configured_flow
from pipeline.config import load_config
from pipeline.nightly.settings import load_nightly_settings
summary = configured_flow(load_nightly_settings(load_config()))()
summary["self_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("SUMMARY " + json.dumps(summary))
"""

LIBRARY = """
import json, resource
from pipeline.config import load_config
from pipeline.nightly.run import NightlyRunner, run_nightly
from pipeline.nightly.settings import load_nightly_settings
from pipeline.store import Store
config = load_config()
report = run_nightly(config, Store.open(config.path("staging_db")),
                     load_nightly_settings(config), runner=NightlyRunner(log=lambda _: None))
summary = report.summary()
summary["self_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("SUMMARY " + json.dumps(summary))
"""


def workers_rss_mb(pid: int) -> float:
    """Resident memory of the run's worker processes (its multiprocessing descendants: the
    workers, their fork server, the resource tracker), in MB."""
    from tests.processes import descendants

    total = 0
    for child in descendants(pid):
        try:
            if b"multiprocessing" not in Path(f"/proc/{child}/cmdline").read_bytes():
                continue
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines()
                       if line.startswith("VmRSS:")), 0)  # fmt: skip
    return total / 1024


def cpu_seconds(pid: int, seen: dict[int, tuple[str, float]]) -> None:
    """Record the CPU time (user + system) so far of the run and each of its descendants,
    by kind: the run's process, Prefect's temporary server, the extraction workers (with
    their fork server and resource tracker). A process keeps the kind it was first seen
    with: one that has exited reads an empty command line."""
    from tests.processes import descendants

    tick = os.sysconf("SC_CLK_TCK")
    for child in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            seconds = (int(fields[11]) + int(fields[12])) / tick
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if child in seen:
            kind = seen[child][0]
        elif not command:
            continue
        else:
            kind = (
                "run" if child == pid
                else "workers" if b"multiprocessing" in command
                else "Prefect server" if b"uvicorn" in command
                else "other"
            )  # fmt: skip
        seen[child] = (kind, seconds)


def cpu_by_kind(seen: dict[int, tuple[str, float]]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for kind, seconds in seen.values():
        totals[kind] = totals.get(kind, 0.0) + seconds
    return totals


def run_nightly(env: dict[str, str], log: Path, code: str = FLOW) -> tuple[float, dict]:
    """Wall seconds of one run in a fresh process, and its summary (with its peak RSS, the
    peak of its worker processes together and the CPU seconds of each kind of process,
    sampled twice a second: the last half second of each process is not counted)."""
    started = time.monotonic()
    workers_peak = 0.0
    cpu: dict[int, tuple[str, float]] = {}
    with open(log, "w") as out:
        run = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, stdout=out,
                               stderr=subprocess.STDOUT)  # fmt: skip
        while run.poll() is None:
            workers_peak = max(workers_peak, workers_rss_mb(run.pid))
            cpu_seconds(run.pid, cpu)
            time.sleep(0.5)
    if run.returncode:
        raise subprocess.CalledProcessError(run.returncode, "nightly run", log.read_text())
    wall = time.monotonic() - started
    summary: dict = {}
    for line in log.read_text().splitlines():
        if line.startswith("SUMMARY "):
            summary = json.loads(line[len("SUMMARY ") :])
    summary["workers_rss_mb"] = workers_peak
    summary["cpu_seconds"] = cpu_by_kind(cpu)
    return wall, summary


def cpu_line(summary: dict, sources: int) -> str:
    """Where the CPU went: the machine's cores are shared by every process below. When
    their CPU over the cores comes near what the limits allow, the run is bound by the
    machine, not by the limits or by idle slots."""
    seconds = summary["cpu_seconds"]
    parts = [f"{kind} {spent:.1f} s ({1000 * spent / max(sources, 1):.0f} ms a source)"
             for kind, spent in sorted(seconds.items())]  # fmt: skip
    # the cores this process may run on (a container's or an affinity mask's, not the host's)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    return (
        "  CPU: " + ", ".join(parts) + f"; together over {cores} cores, "
        f"{sum(seconds.values()) / cores:.1f} s of the run's time at the least"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=5)
    parser.add_argument(
        "--compare-library",
        action="store_true",
        help="also time the same run without Prefect (pipeline.nightly.run)",
    )
    parser.add_argument(
        "--processes", type=int, default=0, help="worker processes (default: configs/nightly.toml)"
    )
    args = parser.parse_args()
    from pipeline.config import load_config
    from pipeline.nightly.settings import load_nightly_settings
    from tests.pdfs import case_report_pdf

    work = Path(tempfile.mkdtemp(prefix="bench-nightly-"))
    pdf = case_report_pdf(work / "paper.pdf").read_bytes()
    hosts = [PdfHost(pdf) for _ in range(args.hosts)]
    crossref = EmptyCrossref()
    per_host = args.sources // args.hosts
    watchlist = work / "watchlist.txt"
    watchlist.write_text("".join(f"http://{host.netloc}/{n}.pdf\n"
                                 for n in range(per_host) for host in hosts))  # fmt: skip
    toml = work / "nightly.toml"
    processes = args.processes or load_nightly_settings(load_config()).processes
    nightly_toml(toml, hosts, watchlist, max_sources=args.sources, processes=processes)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PIPELINE_NIGHTLY_CONFIG": str(toml),
        "PIPELINE_CROSSREF_URL": f"http://{crossref.netloc}",
        "PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
        "PIPELINE_PATHS_EXTRACTED": str(work / "extracted"),
        "PIPELINE_PATHS_METADATA": str(work / "metadata"),
        "PIPELINE_PATHS_STAGING_DB": str(work / "metadata" / "staging.sqlite"),
        "PREFECT_HOME": str(work / "prefect"),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    env.pop("PREFECT_API_URL", None)
    sources = per_host * args.hosts
    # What the limits allow: each host starts RATE sources a second and holds at most
    # CONCURRENCY at once; the last source still takes one answer's time to finish.
    rate_bound = (per_host - 1) / RATE + LATENCY
    print(f"{sources} sources on {args.hosts} hosts ({per_host} each), {LATENCY * 1000:.0f} ms "
          f"latency; per host {RATE}/s and {CONCURRENCY} at once: the limits allow "
          f"{rate_bound:.1f} s for the extract step; {processes} worker process(es)")  # fmt: skip

    wall, summary = run_nightly(env, work / "first.log")
    extract = summary.get("steps", {}).get("extract", float("nan"))
    peak_mb = summary.get("self_rss_mb", float("nan"))
    print(f"first run:  {wall:.1f} s in all, extract step {extract:.1f} s "
          f"({extract / rate_bound:.2f}x the limit), peak RSS of the run {peak_mb:.0f} MB, "
          f"of its workers together {summary['workers_rss_mb']:.0f} MB; "
          f"processed {summary.get('processed')}, failed {summary.get('failed')}, "
          f"staged {summary.get('staged')}")  # fmt: skip
    print(cpu_line(summary, sources))
    second_wall, second = run_nightly(env, work / "second.log")
    print(
        f"second run: {second_wall:.1f} s in all (nothing new: processed "
        f"{second.get('processed')} of {second.get('found')} found)"
    )
    checks = {
        "extract within 20% of the limits": extract <= 1.2 * rate_bound,
        "peak memory under 500 MB": peak_mb < 500,
        f"workers under {WORKER_MB} MB each": summary["workers_rss_mb"]
        <= WORKER_MB * max(processes, 1) + WORKER_MB,
        "second run under 30 s": second_wall < 30,
        "every source processed": summary.get("processed") == sources
        and summary.get("failed") == 0,
        "second run processed nothing": second.get("processed") == 0,
    }
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    failed = not all(checks.values())
    if args.compare_library:
        shutil.rmtree(work / "metadata", ignore_errors=True)
        shutil.rmtree(work / "extracted", ignore_errors=True)
        lib_wall, lib = run_nightly(env, work / "library.log", LIBRARY)
        print(
            f"same run without Prefect: {lib_wall:.1f} s in all, extract step "
            f"{lib['steps']['extract']:.1f} s, peak RSS {lib['self_rss_mb']:.0f} MB"
        )
        print(cpu_line(lib, sources))
    print(f"(logs and store in {work})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
