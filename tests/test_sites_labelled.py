"""Every labelled case-site page through the pipeline: 0 false candidates, every radiograph,
fields, notes, listings and named failures, as tests/fixtures/sites/labelled/*.json says.

The dev pages (written with the parsers) must be perfect; the check pages (written after
them, never tuned on) are held to the floors of bench/floors.toml [casepages], like
`make eval` (bench/eval_casepages.py) holds them."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.sites.labelled import Spec, figures, load_specs, run, site_servers
from tests.httpserver import LocalServer

FLOORS = Path(__file__).resolve().parents[1] / "bench" / "floors.toml"
DEV = load_specs("dev")
CHECK = load_specs("check")


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, LocalServer]]:
    with site_servers() as running:
        yield running


def test_each_form_and_kind_is_labelled() -> None:
    forms = {(spec.site, spec.form) for spec in DEV if spec.kind == "case"}
    for site in ("radiopaedia", "eurorad", "sirm"):
        assert len({form for name, form in forms if name == site}) >= 3, site
    kinds = {spec.kind for spec in DEV}
    assert kinds == {"case", "listing", "layout", "blocked"}
    assert CHECK and not {spec.name for spec in CHECK} & {spec.name for spec in DEV}


@pytest.mark.parametrize("spec", DEV, ids=[spec.name for spec in DEV])
def test_dev_page(spec: Spec, servers: dict[str, LocalServer], tmp_path: Path) -> None:
    score = run(spec, servers, tmp_path)
    assert score.problems == []


def test_check_pages_hold_their_floors(servers: dict[str, LocalServer], tmp_path: Path) -> None:
    scores = [run(spec, servers, tmp_path / spec.name) for spec in CHECK]
    found = figures(scores)
    section = tomllib.loads(FLOORS.read_text())["casepages"]
    ceilings = section.get("max", {})
    for name, floor in section.items():
        if name.startswith("check_"):
            assert found[name.removeprefix("check_")] >= floor, (name, scores)
    for name, ceiling in ceilings.items():
        if name.startswith("check_"):
            assert found[name.removeprefix("check_")] <= ceiling, (name, scores)
