"""The eval gate: each evaluation's figures against the floors pinned in `bench/floors.toml`.

An evaluation calls `check(name, figures)` after printing its report and exits with what it
returns: 1 when any figure fell below its floor (or rose above its ceiling), else 0. Floors are
raised when a change earns it and never lowered in the same change that drops a figure: the
file's history is the record (trafilatura's eval gate works the same way).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

FLOORS = Path(__file__).with_name("floors.toml")


def sections(path: Path = FLOORS) -> list[str]:
    """The evaluations that have pinned figures."""
    return list(tomllib.loads(path.read_text()))


def load(name: str, path: Path = FLOORS) -> tuple[dict[str, float], dict[str, float]]:
    """The floors (figure >= value) and ceilings (figure <= value) pinned for one evaluation."""
    section = tomllib.loads(path.read_text()).get(name, {})
    ceilings = {key: float(value) for key, value in section.get("max", {}).items()}
    floors = {key: float(value) for key, value in section.items() if key != "max"}
    return floors, ceilings


def check(
    name: str, figures: dict[str, float], path: Path = FLOORS, *, only_reported: bool = False
) -> int:
    """Print every pinned figure beside its bound; 1 if any is out of bounds, else 0.

    A pinned figure the evaluation did not produce counts as a failure (a renamed or
    vanished figure must not pass the gate by silence), unless `only_reported` says the run
    was a partial one on purpose.
    """
    floors, ceilings = load(name, path)
    bounds = [(key, value, ">=") for key, value in floors.items()]
    bounds += [(key, value, "<=") for key, value in ceilings.items()]
    if only_reported:
        bounds = [bound for bound in bounds if bound[0] in figures]
    failures = []
    print(f"\n== gate: {name} (bench/floors.toml) ==")
    for key, bound, sense in bounds:
        value = figures.get(key)
        if value is None:
            failures.append(key)
            print(f"  {key:<36} missing   {sense} {bound:<8} FAIL (no longer reported)")
            continue
        ok = value >= bound - 1e-9 if sense == ">=" else value <= bound + 1e-9
        if not ok:
            failures.append(key)
        print(f"  {key:<36} {value:>8.4f}  {sense} {bound:<8} {'ok' if ok else 'FAIL'}")
    unpinned = sorted(set(figures) - set(floors) - set(ceilings))
    if unpinned:
        print("  not pinned: " + ", ".join(unpinned))
    if failures:
        print(f"gate {name}: {len(failures)} figure(s) out of bounds: {', '.join(failures)}")
        return 1
    print(f"gate {name}: all {len(bounds)} pinned figures hold")
    return 0
