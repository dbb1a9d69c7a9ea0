"""Benchmark: a backfill spread over Prefect process workers, on this machine.

Everything runs on 127.0.0.1 and is started here: a Prefect server (on PostgreSQL), a
throwaway PostgreSQL for the staging store, a made-up literature (tests/literature.py: a
Crossref stand-in and PDF hosts), the workers (`prefect worker start --limit 1`) and the
real command (`python -m flows.backfill`). Two cases:

1. CPU-bound: `--papers` generated papers (each its own chest X-ray and CT phantoms,
   tests/pdfs.py), served at once, under limits that never bind; the backfill with one
   worker, then with two (a fresh store each). Printed: sources per second of the extract
   step and the ratio (goal: two workers >= 1.5x one on 2 cores).
2. Politeness-bound: `--polite` papers on HOSTS hosts that answer after LATENCY, each host
   at CONCURRENCY requests at once and RATE starts a second, two workers. Printed: the
   extract step against what the limits allow (goal: within 1.2x).

For every run: peak RSS of each worker's flow-run processes (goal: under 500 MB). The
Prefect server, PostgreSQL and the servers of the literature share the same cores.
Needs no data from ../shared/data.

    .venv/bin/python bench/bench_backfill.py [--papers 300] [--polite 600] [--keep]
                                             [--only cpu|polite]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.literature import Literature, numbered_pdf, papers  # noqa: E402
from tests.postgres import new_database, throwaway_cluster  # noqa: E402
from tests.prefect_server import start_prefect_server  # noqa: E402
from tests.processes import descendants  # noqa: E402

PREFECT = Path(sys.executable).parent / "prefect"
START, UNTIL = date(2020, 1, 1), date(2020, 12, 31)
HOSTS, LATENCY, CONCURRENCY, RATE = 3, 0.25, 2, 2.0  # the politeness-bound case
POOL = "bench-backfill"
ORCHESTRATOR = """
import json, sys
from flows.backfill import backfill_flow
summary = backfill_flow(start=sys.argv[1], until=sys.argv[2], db=sys.argv[3])
print("SUMMARY " + json.dumps(summary))
"""


def distinct_paper(number: int) -> bytes:
    """A paper with its own chest X-ray and CT phantoms and captions."""
    from tests import phantoms
    from tests.pdfs import Figure, write_pdf

    folder = Path(tempfile.mkdtemp(prefix="bench-paper-"))
    try:
        path = write_pdf(folder / "paper.pdf", [[
            Figure(phantoms.chest_xray_frontal(384, seed=number),
                   f"Figure 1. Chest radiograph of a {20 + number % 60}-year-old man with "
                   "COVID-19 pneumonia.", "jpeg"),
            Figure(phantoms.ct_axial(384, seed=10_000 + number),
                   "Figure 2. Axial CT showing bilateral ground-glass opacities."),
        ]], title=f"Case report {number}")  # fmt: skip
        return path.read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and of the children it has waited for (flow runs of a worker)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


@dataclass
class Workers:
    """`prefect worker start` processes, with the peak RSS of the flow runs each started."""

    env: dict[str, str]
    folder: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    peak_run_mb: dict[str, float] = field(default_factory=dict)
    peak_worker_mb: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self, count: int) -> None:
        for n in range(count):
            name = f"worker-{n + 1}"
            log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - lives with the worker
            self.processes[name] = subprocess.Popen(
                [str(PREFECT), "worker", "start", "--pool", POOL, "--limit", "1", "--name", name],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            for name, process in self.processes.items():
                worker = rss_mb(process.pid)
                runs = max((rss_mb(pid) for pid in descendants(process.pid)), default=0.0)
                self.peak_worker_mb[name] = max(self.peak_worker_mb.get(name, 0.0), worker)
                self.peak_run_mb[name] = max(self.peak_run_mb.get(name, 0.0), runs)

    def cpu(self) -> float:
        """CPU seconds of the workers and their flow runs so far."""
        return sum(cpu_seconds(pid) for process in self.processes.values()
                   for pid in [process.pid, *descendants(process.pid)])  # fmt: skip

    def stop(self) -> None:
        self._stop.set()
        for process in self.processes.values():
            for pid in [process.pid, *descendants(process.pid)]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, 9)
            process.wait(timeout=30)


def batch_timeline(api: str) -> list[dict]:
    """Each extract-batch flow run: when it started and ended, and how many sources."""
    request = urllib.request.Request(
        f"{api}/flow_runs/filter", data=json.dumps({"limit": 200}).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as answer:
        runs = json.loads(answer.read())
    return [{"name": run["name"], "start": run["start_time"], "end": run["end_time"],
             "sources": len(run["parameters"].get("sources", [])), "state": run["state_type"]}
            for run in runs if "sources" in run["parameters"]]  # fmt: skip


def nightly_toml(path: Path, literature: Literature, *, polite: bool) -> Path:
    if polite:
        hosts = "".join(f'[hosts."{host.netloc}"]\nconcurrency = {CONCURRENCY}\nrate = {RATE}\n'
                        for host in literature.hosts)  # fmt: skip
        default = "concurrency = 3\nrate = 10.0"
    else:
        hosts, default = "", "concurrency = 16\nrate = 1000.0"
    path.write_text(f"""
[run]
max_in_flight = 8
retries = 0
[crossref]
queries = ["COVID-19 chest radiograph"]
rows = 100
[sites]
names = []
[backfill]
window_days = 31
batch_size = 100
pool = "{POOL}"
deployment = "bench"
[hosts.default]
{default}
{hosts}""")
    return path


def run_backfill(
    work: Path, name: str, cluster: str, env: dict[str, str], literature: Literature,
    workers: int, server_pid: int, *, polite: bool,
) -> dict:  # fmt: skip
    """One backfill with `workers` workers on a fresh store; its summary, with peak RSS."""
    folder = work / name
    folder.mkdir()
    db = new_database(cluster, name.replace("-", "_"))
    run_env = {
        **env,
        "PIPELINE_NIGHTLY_CONFIG": str(nightly_toml(folder / "nightly.toml", literature,
                                                    polite=polite)),  # fmt: skip
        "PIPELINE_PATHS_EXTRACTED": str(folder / "extracted"),
        "PIPELINE_PATHS_METADATA": str(folder / "metadata"),
        "PIPELINE_PATHS_STAGING_DB": str(folder / "metadata" / "staging.sqlite"),
    }
    pool = Workers(run_env, folder)
    pool.start(workers)
    server_cpu, own_cpu = cpu_seconds(server_pid), time.process_time()
    try:
        started = time.monotonic()
        with open(folder / "backfill.log", "wb") as log:
            orchestrator = subprocess.Popen(
                [sys.executable, "-c", ORCHESTRATOR, str(START), str(UNTIL), db],
                cwd=REPO, env=run_env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            _pid, status, usage = os.wait4(orchestrator.pid, 0)
            orchestrator.returncode = os.waitstatus_to_exitcode(status)
        if orchestrator.returncode:
            raise RuntimeError(f"the backfill failed: see {folder / 'backfill.log'}")
        wall = time.monotonic() - started
        cpu = {
            "workers and their flow runs": pool.cpu(),
            "Prefect server": cpu_seconds(server_pid) - server_cpu,
            "the backfill (orchestrator)": usage.ru_utime + usage.ru_stime,
            "the made-up literature's servers": time.process_time() - own_cpu,
        }
    finally:
        pool.stop()
    summary = {}
    for line in (folder / "backfill.log").read_text().splitlines():
        if line.startswith("SUMMARY "):
            summary = json.loads(line[len("SUMMARY ") :])
    summary["wall"] = wall
    summary["cpu"] = cpu
    summary["peak_run_mb"] = pool.peak_run_mb
    summary["peak_worker_mb"] = pool.peak_worker_mb
    return summary


def describe(name: str, summary: dict, sources: int) -> float:
    extract = summary["steps"].get("extract", float("nan"))
    per_worker = ", ".join(f"{worker} {counts['processed']}"
                           for worker, counts in sorted(summary["workers"].items()))  # fmt: skip
    runs = max(summary["peak_run_mb"].values(), default=0.0)
    own = max(summary["peak_worker_mb"].values(), default=0.0)
    print(f"  {name}: extract step {extract:.1f} s for {summary['processed']} sources "
          f"({summary['processed'] / extract:.2f}/s; {per_worker}); {summary['failed']} failed; "
          f"whole command {summary['wall']:.1f} s; peak RSS: flow run {runs:.0f} MB, "
          f"worker {own:.0f} MB")  # fmt: skip
    cpu = "; ".join(f"{name} {seconds / sources * 1000:.0f}"
                    for name, seconds in summary["cpu"].items())  # fmt: skip
    print(f"    CPU per source, ms: {cpu} (PostgreSQL not counted)")
    assert summary["processed"] == sources, summary
    return summary["processed"] / extract


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, default=300, help="CPU-bound case")
    parser.add_argument("--polite", type=int, default=600, help="politeness-bound case")
    parser.add_argument("--keep", action="store_true", help="keep the logs and stores")
    parser.add_argument("--only", choices=("cpu", "polite"), help="run one case only")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    env = {**os.environ, "PYTHONPATH": str(REPO), "PREFECT_HOME": str(work / "prefect"),
           "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_LOGGING_LEVEL": "WARNING", "PREFECT_WORKER_QUERY_SECONDS": "1",
           "PIPELINE_HTTP_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
           "PIPELINE_HTTP_RETRIES": "0"}  # fmt: skip
    checks: dict[str, bool] = {}
    with throwaway_cluster() as cluster:
        server, api = start_prefect_server(cluster, work / "prefect", work / "server.log")
        env["PREFECT_API_URL"] = api
        try:
            clock = time.monotonic()
            count = args.papers if args.only != "polite" else 1
            with ProcessPoolExecutor(max_workers=2) as pool:
                pdfs = list(pool.map(distinct_paper, range(count), chunksize=10))
            print(f"CPU-bound: {args.papers} papers, each its own X-ray and CT "
                  f"(generated in {time.monotonic() - clock:.0f} s), no delay, limits that "
                  "never bind")  # fmt: skip
            items = papers(args.papers if args.only != "polite" else 0, START, UNTIL, hosts=2)
            with Literature(items, lambda paper: pdfs[paper.number], hosts=2) as literature:
                env["PIPELINE_CROSSREF_URL"] = env["PIPELINE_UNPAYWALL_URL"] = (
                    literature.crossref.base_url
                )
                rates = {1: 1.0, 2: 1.0}
                for workers in (1, 2) if args.only != "polite" else ():
                    summary = run_backfill(work, f"cpu-{workers}", cluster, env, literature,
                                           workers, server.pid, polite=False)  # fmt: skip
                    rates[workers] = describe(f"{workers} worker(s)", summary, args.papers)
                    checks[f"memory per worker under 500 MB ({workers} worker(s))"] = max(
                        summary["peak_run_mb"].values(), default=0.0) < 500  # fmt: skip
            if args.only != "polite":
                ratio = rates[2] / rates[1]
                print(f"  two workers / one worker: {ratio:.2f}x the throughput")
                checks["two workers >= 1.5x one"] = ratio >= 1.5
            if args.only == "cpu":
                args.polite = 0

            per_host = args.polite // HOSTS
            allowed = (per_host - 1) / RATE + LATENCY
            if not per_host:
                return _report(checks, work, args.keep)
            print(f"Politeness-bound: {per_host * HOSTS} papers on {HOSTS} hosts, "
                  f"{LATENCY * 1000:.0f} ms latency, {CONCURRENCY} at once and {RATE}/s per "
                  f"host, two workers: the limits allow {allowed:.1f} s")  # fmt: skip
            base = numbered_pdf(pdfs[0])
            items = papers(per_host * HOSTS, START, UNTIL, hosts=HOSTS)
            with Literature(items, base, hosts=HOSTS, latency=LATENCY) as literature:
                env["PIPELINE_CROSSREF_URL"] = env["PIPELINE_UNPAYWALL_URL"] = (
                    literature.crossref.base_url
                )
                summary = run_backfill(work, "polite", cluster, env, literature, 2, server.pid,
                                       polite=True)  # fmt: skip
                describe("2 workers", summary, per_host * HOSTS)
                extract = summary["steps"]["extract"]
                print(f"  extract step / what the limits allow: {extract / allowed:.2f}x; "
                      f"peak at a host {max(h.peak for h in literature.hosts)} at once "
                      f"(limit {CONCURRENCY})")  # fmt: skip
                for host in literature.hosts:  # where the time went: pacing or the ends
                    starts = sorted(start for start, _end in host.spans)
                    print(f"    host {host.netloc}: {len(starts)} requests, "
                          f"{(len(starts) - 1) / (starts[-1] - starts[0]):.2f} starts/s "
                          f"between its first and last (limit {RATE}/s)")  # fmt: skip
                if args.keep:  # the hosts' requests and the batches, for a closer look
                    batches = batch_timeline(api)
                    (work / "polite" / "timeline.json").write_text(json.dumps(
                        {"hosts": {h.netloc: h.spans for h in literature.hosts},
                         "batches": batches}))  # fmt: skip
                checks["politeness-bound within 1.2x of the limits"] = extract <= 1.2 * allowed
                checks["no host over its limit"] = all(h.peak <= CONCURRENCY
                                                       for h in literature.hosts)  # fmt: skip
        finally:
            os.killpg(server.pid, 9)
            server.wait(timeout=30)
    return _report(checks, work, args.keep)


def _report(checks: dict[str, bool], work: Path, keep: bool) -> int:
    """Print the checks; 1 when one failed (`make bench` stops there)."""
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    if keep:
        print(f"(logs and stores in {work})")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
