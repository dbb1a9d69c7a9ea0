"""The labelled phrasings in tests/data/textmeta_cases.jsonl (shared with `make eval`).

Every fit-set expectation must hold. The check set is never tuned on: it is held to the
floor pinned in bench/floors.toml ([textmeta] cases_check_accuracy), not case by case.
"""

import tomllib

import pytest

from pipeline.textmeta import extract_fields
from pipeline.textmeta.cases import CASES, load_cases, same, split_of

ALL = load_cases()
FIT = [case for case in ALL if case.set == "fit"]
CHECK = [case for case in ALL if case.set == "check"]


@pytest.mark.parametrize("case", FIT, ids=[case.id for case in FIT])
def test_fit_case(case):
    got = extract_fields(case.text).values
    for field, expected in case.expect.items():
        assert same(field, got[field], expected), (field, got[field], expected)


def test_check_set_holds_its_floor():
    floors = tomllib.loads((CASES.parents[2] / "bench" / "floors.toml").read_text())
    met = total = 0
    for case in CHECK:
        got = extract_fields(case.text).values
        for field, expected in case.expect.items():
            met += same(field, got[field], expected)
            total += 1
    assert met / total >= floors["textmeta"]["cases_check_accuracy"]


def test_sets_follow_the_rule_fixed_before_reading():
    """Written cases are split by a hash of their id; real excerpts all go to the check set."""
    for case in ALL:
        expected = "check" if case.source else split_of(case.id)
        assert case.set == expected, case.id
    assert len({case.id for case in ALL}) == len(ALL)
    assert len(CHECK) >= 0.2 * len(ALL)
