"""Wordings met in real case reports and case pages read during the second session (texts
written for the test, not the pages' own words): each test names the wording that went wrong."""

import pytest

from pipeline.textmeta import extract_fields


def _value(text: str, field: str):
    return extract_fields(text).values[field]


def test_regression_oxygen_given_despite_a_negated_finding_is_a_yes():
    text = "He had respiratory failure with hypoxia without hypercapnia despite oxygen support."
    assert _value(text, "needed_supplemental_O2") == "Y"


def test_regression_declined_intervention_including_intubation_is_a_no():
    text = "He declined any intervention, including intubation, and died the same day."
    assert _value(text, "intubated") == "N"


def test_none_of_the_patients_needed_ventilation():
    text = "None of the patients required mechanical ventilation."
    assert _value(text, "intubated") == "N"


def test_regression_discharge_from_an_earlier_stay_is_not_survival():
    text = (
        "A 70-year-old woman, who had been discharged 10 days before after hip surgery, was "
        "admitted with fever. Chest X-ray showed bilateral opacities."
    )
    assert _value(text, "survival") is None


def test_discharge_with_words_between():
    text = "She was eventually successfully discharged to rehabilitation."
    assert _value(text, "survival") == "Y"


@pytest.mark.parametrize(
    "text",
    [
        "He was given oxygen at 2 L/min via nasal prongs.",
        "Oxygen inhalation was started on the ward.",
        "She was treated with antibiotics and steroids and administered oxygen.",
        "SpO2 95% with 3 L/min of oxygen by nasal canula.",
        "Trattato con O2 3 l/min in occhialini.",
        "Ventimask 40% was applied.",
    ],
)
def test_regression_oxygen_wordings(text):
    assert _value(text, "needed_supplemental_O2") == "Y"


def test_face_mask_alone_is_not_oxygen():
    text = "The patient wore a face mask in the waiting room."
    assert _value(text, "needed_supplemental_O2") is None


def test_oxygen_is_left_blank_after_non_invasive_ventilation():
    text = "She needed non-invasive ventilation, then a simple mask with 2 L/min O2."
    assert _value(text, "needed_supplemental_O2") is None


def test_home_cpap_for_sleep_apnoea_does_not_hide_oxygen():
    text = "Man with sleep apnoea on home CPAP. He received supplemental oxygen on the ward."
    assert _value(text, "needed_supplemental_O2") == "Y"


def test_regression_next_morning_fever_is_not_the_presenting_temperature():
    text = "All'ingresso paziente apiretico. La mattina successiva picco febbrile a 39 °C."
    assert _value(text, "temperature") is None


def test_presenting_temperature_before_a_later_one():
    text = "On admission, temperature 38.2 °C. The following day fever rose to 39.5 °C."
    assert _value(text, "temperature") == 38.2


def test_italian_age_after_the_word_anni():
    assert _value("Paziente di anni 53, tosse e febbre.", "age") == 53


@pytest.mark.parametrize(
    ("text", "celsius"),
    [
        ("She had a fever of 38·4°C on presentation.", 38.4),
        ("Body temperature 38.6℃ at the clinic.", 38.6),
        ("Temperature 101.3℉ on arrival.", 38.5),
    ],
)
def test_regression_temperature_signs_and_the_middle_dot_decimal(text, celsius):
    assert _value(text, "temperature") == celsius


def test_regression_temperature_on_a_later_hospital_day_is_not_presenting():
    text = "On the 6th day of admission, her highest temperature was 40.2℃."
    assert _value(text, "temperature") is None


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("He was moved to the intensive-care unit.", "went_icu", "Y"),
        ("She was treated with a ventilator for a week.", "intubated", "Y"),
        ("Lung protective ventilation was applied.", "intubated", "Y"),
        ("He was found deceased at home two days later.", "survival", "N"),
        ("The pneumonia progressed to death.", "survival", "N"),
        ("He stayed on the ward until his discharge.", "survival", "Y"),
        ("His condition did not improve and he died on day 16.", "survival", "N"),
    ],
)
def test_regression_outcome_wordings(text, field, value):
    assert _value(text, field) == value


def test_regression_post_mortem_image_is_not_at_presentation():
    text = (
        "A 70-year-old man presented with a 3-day fever. He died on day 5. Post-mortem CT "
        "48 hours after death showed bilateral consolidation."
    )
    assert _value(text, "offset") is None


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        (
            "A 58-year-old man with fever. At admission, his temperature was 38.4 °C. On day 4, "
            "he became dyspnoeic and chest CT showed bilateral ground-glass opacities.",
            4,
        ),
        (
            "A 58-year-old man with fever. At admission, his temperature was 38.4 °C. On day 4, "
            "he developed dyspnoea and chest CT showed bilateral ground-glass opacities.",
            None,
        ),
    ],
)
def test_regression_admission_vitals_do_not_date_an_image_dated_elsewhere(text, offset):
    assert _value(text, "offset") == offset


@pytest.mark.parametrize(
    ("text", "celsius"),
    [
        (
            "Fever for 3 days; the maximum temperature reached 38.7°C. On examination, body "
            "temperature was 38.1°C.",
            38.1,
        ),
        ("Temperature as high as 39.1 °C at home. On admission T 36.8 °C.", 36.8),
        ("After 5 days of fever (maximum 39 °C), cough.", 39.0),
        ("Fevers in the 101° F to 102° F range at home.", None),
        ("Fever 38-39 °C for a week.", None),
    ],
)
def test_regression_a_measured_temperature_wins_over_a_peak_and_ranges_are_unsaid(text, celsius):
    assert _value(text, "temperature") == celsius


def test_regression_day_number_with_ordinal_suffix():
    text = "On day 21st after her admission, chest X-ray showed pneumomediastinum."
    assert _value(text, "offset") == 21


@pytest.mark.parametrize(
    "text", ["ECMO from illness day 20 to 30 lead to recovery.", "A successful recovery."]
)
def test_recovery_as_a_noun(text):
    assert _value(text, "survival") == "Y"
