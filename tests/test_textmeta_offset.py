"""Offset's two clocks: days since symptom onset and since admission, and the convention."""

import pytest

from pipeline.textmeta import extract_fields


def clocks(text, convention="stated"):
    fields = extract_fields(text, convention=convention)
    return fields.values["offset_since_onset"], fields.values["offset_since_admission"]


def test_history_at_presentation_fixes_both_clocks():
    fields = extract_fields("A 35-year-old man presented with a 4-day history of cough.")
    assert clocks("A 35-year-old man presented with a 4-day history of cough.") == (4, 0)
    assert fields.clocks.since_onset.stated and not fields.clocks.since_admission.stated
    assert fields.values["offset"] == 4 and fields.clocks.primary == "onset"
    assert fields.clocks.differ


def test_history_plus_admission_day_is_the_onset_clock():
    text = "A 7-day history of high fever. Chest X-ray performed on admission showed an opacity."
    fields = extract_fields(text)
    assert clocks(text) == (7, 0)
    assert fields.values["offset"] == 0 and fields.clocks.primary == "admission"
    onset = fields.clocks.since_onset
    assert [ev.text for ev in onset.evidence] == ["7-day history", "on admission"]
    assert not onset.stated


def test_onset_day_minus_history_is_the_admission_clock():
    text = "She presented with a 3-day history of fever. CT on day 8 of illness showed GGO."
    assert clocks(text) == (8, 5)


def test_exposure_is_not_onset():
    assert clocks("Fever and odynophagia. Trip to Italy 7 days ago.") == (None, None)


def test_a_later_image_leaves_the_presentation_clocks_unsaid():
    text = "A man with a 4-day history of cough. Increasing left basilar opacity was visible."
    assert clocks(text) == (None, None)


@pytest.mark.parametrize(
    ("convention", "offset"), [("stated", 0), ("onset", 7), ("admission", 0)]
)
def test_convention_picks_the_primary_clock(convention, offset):
    text = "A 7-day history of high fever. Chest X-ray performed on admission showed an opacity."
    assert extract_fields(text, convention=convention).values["offset"] == offset


def test_history_alone_under_the_admission_convention_is_day_zero():
    text = "Fever and cough for 5 days. Bilateral opacities."
    assert extract_fields(text, convention="admission").values["offset"] == 0
    assert extract_fields(text, convention="stated").values["offset"] == 5


def test_unknown_convention_is_a_clear_error():
    with pytest.raises(ValueError, match="convention"):
        extract_fields("Fever for 5 days.", convention="weekly")


def test_clock_evidence_quotes_the_original_text():
    text = "Fever and cough for 5\u00a0days. Bilateral opacities."
    fields = extract_fields(text)
    for name in ("offset_since_onset", "offset_since_admission"):
        ev = fields.evidence[name]
        assert text[ev.start : ev.end] == ev.text
