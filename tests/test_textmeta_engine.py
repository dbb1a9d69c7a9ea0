"""The engine under the cue tables: token patterns, ConText scopes, value grammars, dates."""

import json
from datetime import date

import pytest

from pipeline.textmeta import extract_fields
from pipeline.textmeta.context import assert_targets
from pipeline.textmeta.document import make_doc
from pipeline.textmeta.matcher import Matcher, make_rule, shared_classes, word_classes
from pipeline.textmeta.values import read_age, read_celsius, read_date, read_days


def matches(pattern, text, classes=None):
    rule = make_rule({"category": "X", "literal": "x", "pattern": pattern}, classes=classes)
    doc = make_doc(text)
    return [doc.span_text(m.start, m.end) for m in Matcher([rule])(doc)]


def test_word_classes_and_counted_repeats():
    pattern = [{"_": {"NUM": True}}, {"LOWER": "-", "OP": "?"}, {"_": {"UNIT": True}}]
    assert matches(pattern, "fever for 4-day and two weeks") == ["4-day", "two weeks"]
    within = [{"LOWER": "pa"}, {"OP": "{0,2}"}, {"LOWER": "film"}]
    assert matches(within, "PA chest film; PA of the lateral film") == ["PA chest film"]


def test_a_table_class_reads_its_own_sections():
    classes = {**shared_classes(), **word_classes({"HOT": {"from": ["hot"]}}, {"hot": ["warm"]})}
    assert matches([{"_": {"HOT": True}}], "warm and cold", classes) == ["warm"]
    with pytest.raises(ValueError, match="unknown word class"):
        make_rule({"category": "X", "literal": "x", "pattern": [{"_": {"NOPE": True}}]})


def test_a_match_never_crosses_a_sentence_end():
    assert matches([{"LOWER": "cough"}, {"LOWER": "fever"}], "cough. fever") == []


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("A 65 y.o. man. Fever", 2),  # points of an abbreviation
        ("E. coli grew. Fever", 2),
        ("See Fig. 2 for the CT. Fever", 2),
        ("He had fever.Increasing opacity", 2),  # a missing space still ends a sentence
    ],
)
def test_sentence_ends(text, sentences):
    assert len(make_doc(text).sentences) == sentences


def test_cues_on_the_same_words_all_apply():
    """'without' is a negation and a measurement's condition at once (rules/context.json)."""
    text = "Partial pressure of oxygen of 55 mm Hg without supplemental oxygen."
    assert extract_fields(text).values["needed_supplemental_O2"] is None


def test_scopes_of_a_field_table_reach_its_targets():
    from pipeline.textmeta.matcher import load_table

    doc = make_doc("The contact, a 60-year-old woman, tested positive.")
    targets = load_table("age_sex").find(doc, {"AGE"})
    (item,) = assert_targets(doc, targets, ("age_sex",))
    assert item.has("OTHER_EXPERIENCER")


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("4-day", 4), ("2 weeks", 14), ("the 7th day", 7), ("48 hours", 2), ("36 hours", None),
        ("a few days", 5), ("a few weeks", None), ("a week", 7), ("day 5", 5),
        ("Figure 4, day 2", 2), ("5a giornata", 5), ("terzo giorno", 3),
    ],
)  # fmt: skip
def test_read_days(text, days):
    doc = make_doc(text)
    assert read_days(doc, 0, len(doc.tokens)) == days


@pytest.mark.parametrize(
    ("text", "age"), [("Sixty-five-year-old", 65), ("Patient 2: 44 years", 44), ("43M", 43)]
)
def test_read_age(text, age):
    doc = make_doc(text)
    assert read_age(doc, 0, len(doc.tokens)) == age


@pytest.mark.parametrize(
    ("text", "guess", "celsius"),
    [("38,5 °C", False, 38.5), ("101.5 F", False, 38.6), ("101.5", True, 38.6),
     ("101.5", False, None), ("38C", False, 38.0), ("38?5 ?C", False, 38.5)],
)  # fmt: skip
def test_read_celsius(text, guess, celsius):
    doc = make_doc(text)
    assert read_celsius(doc, 0, len(doc.tokens), guess) == celsius


@pytest.mark.parametrize(
    ("text", "day"),
    [("January 22, 2020", date(2020, 1, 22)), ("3rd of March", date(2019, 3, 3)),
     ("13/03/2020", date(2020, 3, 13)), ("February 30", None)],
)  # fmt: skip
def test_read_date(text, day):
    doc = make_doc(text)
    assert read_date(doc, 0, len(doc.tokens), year=2019) == day


def test_dates_give_both_clocks():
    text = (
        "He had become ill with fever on January 17. On January 22, he was admitted to our "
        "hospital. On January 25, a chest radiograph showed bilateral consolidation."
    )
    fields = extract_fields(text)
    assert fields.values["offset_since_onset"] == 8
    assert fields.values["offset_since_admission"] == 3
    assert fields.evidence["offset_since_admission"].text == "January 25"


def test_cue_tables_are_valid_json_with_known_sections():
    from importlib import resources

    known = {"about", "classes", "category_defaults", "context_rules", "target_rules",
             "phrase_rules"}  # fmt: skip
    for path in resources.files("pipeline.textmeta").joinpath("rules").iterdir():
        if path.name.endswith(".json"):
            data = json.loads(path.read_text("utf-8"))
            rules = [r for k in ("context_rules", "target_rules", "phrase_rules")
                     for r in data.get(k, [])]  # fmt: skip
            assert all({"category", "literal"} <= set(r) for r in rules), path.name
            assert known & set(data), path.name
