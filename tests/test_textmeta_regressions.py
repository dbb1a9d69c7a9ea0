"""Regressions for the dev notes' wrong answers: each test names the dev note whose pattern it
shows, with text written for the test (not the note's own words)."""

from pipeline.textmeta import extract_fields


def _value(text: str, field: str):
    return extract_fields(text).values[field]


# offset


def test_regression_p38_53_symptoms_dated_in_another_sentence_leave_the_history_unanchored():
    text = (
        "Man, 58 years old. In October 2019 cough and fever treated with antibiotics. "
        "Since 4 days, new cough and fever 38 C. Bilateral opacities."
    )
    assert _value(text, "offset") is None


def test_history_with_a_dated_presentation_still_gives_the_offset():
    text = "On March 2, 2020, a 40-year-old man presented with a 6-day history of fever and cough."
    assert _value(text, "offset") == 6


def test_regression_p67_88_admission_with_a_calendar_date_is_not_day_zero():
    assert _value("Clear lungs in patient B on admission (3 March).", "offset") is None
    assert _value("Chest CT on admission on March 3 showed GGO.", "offset") is None


def test_admission_without_a_date_is_day_zero():
    assert _value("Clear lungs on admission (arrows).", "offset") == 0


def test_regression_p321_403_initial_image_of_a_series_is_day_zero():
    text = (
        "(A) Radiograph of a patient who presented with a 2-day history of cough, without "
        "initial radiographic abnormalities."
    )
    assert _value(text, "offset") == 0


def test_regression_p115_154_initial_chest_radiograph_is_day_zero():
    text = "Serial radiographs of a woman with cough. Initial chest radiograph (a) showed GGO."
    assert _value(text, "offset") == 0


def test_a_comparison_with_the_initial_image_is_not_day_zero():
    text = "Opacities have grown compared with the initial CXR."
    assert _value(text, "offset") is None
    assert _value("Diffuse haze, denser than the first radiographs.", "offset") is None


def test_initial_image_does_not_override_a_stated_day():
    text = "Initial CT on day 6 of illness shows peripheral GGO."
    assert _value(text, "offset") == 6


# temperature


def test_regression_p97_133_image_showing_ards_has_no_presenting_temperature():
    text = "Admitted with fever (38.5 C). Diffuse consolidation, radiological picture of ARDS."
    assert _value(text, "temperature") is None


def test_regression_p290_361_image_timed_after_an_event_has_no_presenting_temperature():
    text = (
        "Came to the ER with fever (39.2 C). B Chest X-ray performed 48 h after thoracentesis "
        "shows less effusion."
    )
    assert _value(text, "temperature") is None


def test_image_days_after_symptom_onset_keeps_the_presenting_temperature():
    text = "Fever of 38.4 C. Chest CT 6 days after symptom onset shows GGO."
    assert _value(text, "temperature") == 38.4


def test_presenting_image_keeps_its_temperature():
    text = "Admitted with fever (38.2 C) and cough. Chest X-ray shows bilateral opacities."
    assert _value(text, "temperature") == 38.2


# survival


def test_regression_p313b_386_discharge_ending_an_admission_without_covid_is_not_survival():
    text = (
        "An 80-year-old woman was admitted for atrial fibrillation. A swab for SARS-CoV-2 was "
        "negative. Chest radiograph was normal. She was discharged home two days later."
    )
    assert _value(text, "survival") is None


def test_discharge_after_a_positive_covid_test_is_survival():
    text = (
        "First swab negative for SARS-CoV-2; a second swab was positive for SARS-CoV-2. "
        "She was discharged home on day 12."
    )
    assert _value(text, "survival") == "Y"


def test_death_is_survival_n_whatever_the_test():
    text = "He tested negative for COVID-19. He died of heart failure."
    assert _value(text, "survival") == "N"


# went_icu


def test_regression_p26_36_icu_stay_for_another_condition_is_not_the_illness():
    text = "Admitted to the ICU with a ruptured aortic aneurysm. Bilateral airspace opacities."
    assert _value(text, "went_icu") is None


def test_icu_stay_for_respiratory_failure_is_yes():
    text = "Admitted to the ICU with worsening respiratory failure. Bilateral opacities."
    assert _value(text, "went_icu") == "Y"
    assert _value("She was transferred to the ICU on day 3.", "went_icu") == "Y"


# needed_supplemental_O2


def test_regression_p317_393_intubated_patient_gets_no_oxygen_answer():
    text = "She was on oxygen via facemask, then was intubated for respiratory failure."
    fields = extract_fields(text).values
    assert fields["intubated"] == "Y"
    assert fields["needed_supplemental_O2"] is None


def test_oxygen_without_intubation_is_yes():
    text = "He received supplemental oxygen by nasal cannula and was not intubated."
    fields = extract_fields(text).values
    assert fields["intubated"] == "N"
    assert fields["needed_supplemental_O2"] == "Y"


def test_regression_p272_326_months_long_complaint_is_not_the_acute_course():
    text = "A 60-year-old smoker presented with a three-month history of cough. Lung nodule."
    assert _value(text, "offset") is None


def test_months_long_history_counts_when_the_illness_is_chronic():
    text = "Chronic cough. He presented with cough and dyspnoea for 4 months. Basal infiltrates."
    assert _value(text, "offset") == 120


def test_acute_symptom_beside_an_old_complaint_gives_the_acute_duration():
    text = "Two-month history of back pain; fever and cough for 3 days. Chest X-ray: GGO."
    assert _value(text, "offset") == 3


def test_words_that_look_like_months_or_dates_do_not_cast_doubt_on_a_history():
    text = (
        "Fever and cough for 4 days; the symptoms may recur. Blood pressure 120/80 with fever. "
        "Chest X-ray shows GGO."
    )
    assert _value(text, "offset") == 4
