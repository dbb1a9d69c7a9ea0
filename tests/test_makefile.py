"""`make extract PDF=... DOI=... URL=...` and `make nightly`: values reach the command as
written, and nothing in them runs (backticks, $(...), quotes, semicolons)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HOSTILE = {
    "PDF": "x`touch pwned-1`$(touch pwned-2)$(shell touch pwned-3).pdf",
    "DOI": '10.1/"; touch pwned-4; "',
    "URL": "https://a.org/b';touch pwned-5;'",
    "MAX": "1`touch pwned-6`",
    "WATCHLIST": "$(touch pwned-7) list.txt",
}


def run_make(
    folder: Path,
    target: str,
    *values: str,
    program: str = "printf '[%s]\\n'",
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The real recipe, with `setup` taken as done and the program replaced (by printf:
    each argument on a line)."""
    return subprocess.run(
        ["make", "-s", "-o", "setup", target, *values, f"PY={program}"],
        cwd=folder, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_hostile_values_reach_the_command_as_written_and_run_nothing(tmp_path: Path) -> None:
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    extract = run_make(tmp_path, "extract", *(f"{k}={HOSTILE[k]}" for k in ("PDF", "DOI", "URL")))
    nightly = run_make(tmp_path, "nightly", *(f"{k}={HOSTILE[k]}" for k in ("MAX", "WATCHLIST")))

    assert extract.returncode == 0 and nightly.returncode == 0, extract.stderr + nightly.stderr
    assert extract.stdout.splitlines()[-6:] == [
        "[--pdf]", f"[{HOSTILE['PDF']}]", "[--doi]", f"[{HOSTILE['DOI']}]",
        "[--url]", f"[{HOSTILE['URL']}]",
    ]  # fmt: skip
    assert nightly.stdout.splitlines()[-4:] == [
        "[--max-sources]",
        f"[{HOSTILE['MAX']}]",
        "[--watchlist]",
        f"[{HOSTILE['WATCHLIST']}]",
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["Makefile"]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_extract_without_a_source_prints_the_usage(tmp_path: Path) -> None:
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    done = run_make(tmp_path, "extract")
    assert done.returncode != 0 and "usage: make extract" in done.stderr


def _api_url_seen(folder: Path, url: str | None) -> str:
    """The PREFECT_API_URL the command of `make extract` is run with ('unset' for none),
    when the caller has `url` (None: none)."""
    import os
    import sys

    env = {name: value for name, value in os.environ.items() if name != "PREFECT_API_URL"}
    if url is not None:
        env["PREFECT_API_URL"] = url
    show = f"{sys.executable} -c 'import os; print(os.environ.get(\"PREFECT_API_URL\", \"unset\"))'"
    done = run_make(folder, "extract", "PDF=a.pdf", program=show, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[-1] if done.stdout.strip() else ""


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_the_callers_prefect_api_url_reaches_the_command_and_none_is_made_up(
    tmp_path: Path,
) -> None:
    """An empty PREFECT_API_URL is not the same as none: Prefect's events client then fails
    on every event, and each failure is logged as an error."""
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    url = "http://127.0.0.1:4299/api"
    assert _api_url_seen(tmp_path, url) == url
    # none, or the local server's when a `make server` answers on this machine
    assert _api_url_seen(tmp_path, None) in ("unset", "http://127.0.0.1:4200/api")
