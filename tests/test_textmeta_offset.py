"""Offset in days since onset or admission."""

import pytest

from pipeline.textmeta import extract_fields


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("Chest radiograph on day 5 of illness shows consolidation.", 5),
        ("CT 10 days after symptom onset shows ground-glass opacities.", 10),
        ("Chest X-ray after a few days shows bilateral opacities.", 5),
        ("Posteroanterior chest radiograph of patient 1 (illness day 7). Unremarkable.", 7),
        ("Chest radiographs obtained on admission showed an infiltrate.", 0),
        ("A 35-year-old man presented with a 4-day history of cough and fever.", 4),
        ("A 53-year-old female had fever and cough for 5 days. Patchy opacities.", 5),
        ("Fever and cough for a few days. Axial CT shows GGO.", 5),
        ("Presented with chronic cough and shortness of breath for 6 months.", 180),
        ("General malaise and 5-day fever, 2-day cough.", 5),
        ("Symptoms started five days prior with sore throat and fever.", 5),
        ("Figure 4 (Day 2). Radiological worsening.", 2),
        ("(B) CXR image, 4 days later, in which bilateral GGO are identified.", 4),
        ("On the day of hospitalization (Day 0), she presented to the clinic.", 0),
    ],
)
def test_offset_patterns(text, offset):
    assert extract_fields(text).values["offset"] == offset


def test_event_days_are_not_the_image_day():
    assert extract_fields("The patient died on day 36.").values["offset"] is None


def test_history_is_not_used_for_a_follow_up_image():
    text = "A man with a 4-day history of cough. Increasing left basilar opacity was visible."
    assert extract_fields(text).values["offset"] is None


def test_admission_wins_over_history():
    text = "A 7-day history of high fever. Chest X-ray performed on admission showed an opacity."
    assert extract_fields(text).values["offset"] == 0


def test_conflicting_image_days_give_none():
    text = "Radiographs on hospital day 3 and hospital day 7 show progression."
    assert extract_fields(text).values["offset"] is None


def test_treatment_duration_is_not_history():
    text = "He had been under penicillin treatment for 3 days, without benefit."
    assert extract_fields(text).values["offset"] is None


def test_trip_days_ago_is_not_onset():
    assert (
        extract_fields("Fever and odynophagia. Trip to Italy 7 days ago.").values["offset"] is None
    )


def test_regression_during_hospitalization_is_not_day_zero():
    text = "Admitted for heart failure. Developed fever during hospitalization. AP chest x-ray."
    assert extract_fields(text).values["offset"] is None


def test_regression_admission_to_icu_is_not_day_zero():
    text = "On admission to the ICU he was intubated. Chest radiograph shows ARDS."
    assert extract_fields(text).values["offset"] is None


def test_regression_death_day_is_not_the_offset():
    assert extract_fields("The patient expired on day 5.").values["offset"] is None


def test_ordinal_day():
    text = "Chest radiograph on the 7th day of illness shows ground-glass opacities."
    assert extract_fields(text).values["offset"] == 7


def test_admission_phrase_not_about_a_follow_up_image():
    text = "On admission, CRP was 45 mg/L. Radiological worsening of the bilateral opacities."
    assert extract_fields(text).values["offset"] is None


def test_event_day_in_a_short_text_is_not_the_offset():
    text = "Patient with COVID-19 pneumonia. ARDS developed on day 8. Mechanical ventilation."
    assert extract_fields(text).values["offset"] is None


def test_stay_day_outside_an_image_sentence_casts_doubt_on_admission():
    text = "Infiltrates were first present on day 6 on admission (21 February)."
    assert extract_fields(text).values["offset"] is None


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("Chest radiograph 48 hours after admission showing bilateral infiltrates.", 2),
        ("Chest radiograph 36 hours after admission showing bilateral infiltrates.", None),
        ("Fever for a few hours. Chest CT showed ground-glass opacities.", None),
    ],
)
def test_hours_count_only_in_whole_days(text, offset):
    assert extract_fields(text).values["offset"] == offset
