"""Survival, intubation, ICU and supplemental oxygen, with negations and other people."""

import pytest

from pipeline.textmeta import extract_fields


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("The patient died on day 36.", "survival", "N"),
        ("She passed away 24 hours later.", "survival", "N"),
        ("He was discharged home on day 12.", "survival", "Y"),
        ("The patient recovered and was released home.", "survival", "Y"),
        ("At the time of writing, she is alive.", "survival", "Y"),
        ("He was intubated and transferred to the ICU.", "intubated", "Y"),
        ("He was intubated and transferred to the ICU.", "went_icu", "Y"),
        ("Treated in intensive care unit with mechanical ventilation.", "intubated", "Y"),
        ("She required supplemental oxygen.", "needed_supplemental_O2", "Y"),
        ("Oxygen was given through a nasal cannula at 5 L/min.", "needed_supplemental_O2", "Y"),
        ("He was not intubated.", "intubated", "N"),
        ("There was no ICU admission.", "went_icu", "N"),
        ("She did not require oxygen.", "needed_supplemental_O2", "N"),
        ("He did not require mechanical ventilation.", "intubated", "N"),
        ("He was managed without intubation.", "intubated", "N"),
    ],
)
def test_outcome_statements(text, field, value):
    assert extract_fields(text).values[field] == value


@pytest.mark.parametrize(
    "text",
    [
        "The patient had fever. His wife was intubated and admitted to the ICU and died.",
        "Her husband required supplemental oxygen.",
        "The index patient's contact died.",
    ],
)
def test_other_people_do_not_leak(text):
    values = extract_fields(text).values
    for field in ("survival", "intubated", "went_icu", "needed_supplemental_O2"):
        assert values[field] is None, field


def test_death_wins_over_an_earlier_discharge():
    text = "She was discharged from the ED. Two days later she returned and passed away."
    assert extract_fields(text).values["survival"] == "N"


def test_discharge_followed_by_readmission_is_not_the_outcome():
    text = "He was discharged home. Two days later, he presented again to the ED with syncope."
    assert extract_fields(text).values["survival"] is None


def test_prediction_is_not_an_outcome():
    assert (
        extract_fields("With treatment this patient is likely to recover.").values["survival"]
        is None
    )


def test_negation_does_not_reach_past_a_new_verb_phrase():
    text = "He denied fever and was admitted to the ICU."
    assert extract_fields(text).values["went_icu"] == "Y"


def test_yes_wins_over_an_earlier_no():
    text = "Initially he did not require intubation, but on day 3 he was intubated."
    assert extract_fields(text).values["intubated"] == "Y"


def test_noninvasive_ventilation_is_not_intubation():
    text = "She started 1 week of non-invasive assisted ventilation."
    assert extract_fields(text).values["intubated"] is None


def test_oxygen_saturation_is_not_supplemental_oxygen():
    text = "Low oxygen saturation (SpO2 89%) on ambient air; PaO2 57 mm Hg."
    assert extract_fields(text).values["needed_supplemental_O2"] is None


def test_regression_deceased_donor_is_not_a_death():
    text = "A 59-year-old woman 13 months after lung transplantation from a deceased donor."
    assert extract_fields(text).values["survival"] is None


def test_regression_discharge_from_icu_is_not_survival():
    assert extract_fields("He was discharged from the ICU to the ward.").values["survival"] is None


def test_regression_sub_intensive_care_is_not_icu():
    assert extract_fields("Admitted to the sub-intensive care unit.").values["went_icu"] is None


def test_regression_oxygen_condition_of_a_measurement_is_not_a_no():
    text = "Partial pressure of oxygen of 55 mm Hg without supplemental oxygen."
    assert extract_fields(text).values["needed_supplemental_O2"] is None


def test_negation_after_the_phrase():
    values = extract_fields("Intubation was not required. ICU admission was avoided.").values
    assert (values["intubated"], values["went_icu"]) == ("N", "N")


def test_intubation_only_considered_is_unsaid():
    values = extract_fields("Intubation was considered but not performed.").values
    assert values["intubated"] is None


def test_icu_as_a_kind_of_patient_is_not_a_stay():
    text = "Mortality in ICU patients is high. The patient had mild cough."
    assert extract_fields(text).values["went_icu"] is None


def test_oxygen_not_needed_after_a_measurement_in_another_clause():
    text = "SpO2 94% on room air; no oxygen therapy was required."
    assert extract_fields(text).values["needed_supplemental_O2"] == "N"
