"""Age and sex of the patient, and not of the other people in the text."""

import pytest

from pipeline.textmeta import extract_fields


@pytest.mark.parametrize(
    ("text", "age", "sex"),
    [
        ("A 55-year-old woman presented with cough.", 55, "F"),
        ("72-year-old woman shows up with fever and dyspnea in PS.", 72, "F"),
        ("65 y/o M with fever and cough.", 65, "M"),
        ("Patient male, 43 years, with dry cough.", 43, "M"),
        ("Female, 61 years old, smoker.", 61, "F"),
        ("Chest film of a 83 year old male with atrial fibrillation.", 83, "M"),
        ("A 58-year old male non-smoking patient presented to our ED.", 58, "M"),
        ("Chest x-ray images from a 12-year-old boy.", 12, "M"),
        ("The patient, aged 47, had fever. She was admitted.", 47, "F"),
    ],
)
def test_age_and_sex_patterns(text, age, sex):
    values = extract_fields(text).values
    assert (values["age"], values["sex"]) == (age, sex)


def test_sex_from_pronouns_when_no_noun():
    assert extract_fields("The patient presented with fever. He was admitted.").values["sex"] == "M"


def test_mixed_pronouns_give_no_sex():
    text = "The patient had fever. He and she travelled; her cough started first."
    assert extract_fields(text).values["sex"] is None


def test_spouse_age_does_not_leak():
    values = extract_fields("A 40-year-old man, whose 38-year-old wife had fever.").values
    assert (values["age"], values["sex"]) == (40, "M")


def test_contact_in_apposition_does_not_leak():
    values = extract_fields("The contact, a 60-year-old woman, tested positive.").values
    assert values["age"] is None and values["sex"] is None


def test_family_cluster_gives_no_patient():
    values = extract_fields("A family cluster: a 65-year-old man and his 62-year-old wife.").values
    assert values["age"] is None and values["sex"] is None


def test_husband_before_patient():
    values = extract_fields(
        "Her husband, a 60-year-old man, had fever. She is 55 years old."
    ).values
    # The age is the patient's; pronouns are not trusted once another person is named.
    assert (values["age"], values["sex"]) == (55, None)


def test_two_different_patient_ages_give_none():
    text = "Patient 1 was a 36-year-old man. Patient 2 was a 60-year-old woman."
    values = extract_fields(text).values
    assert values["age"] is None and values["sex"] is None


def test_past_event_age_is_not_the_age():
    values = extract_fields("A 70-year-old man, diagnosed with asthma at age 40.").values
    assert values["age"] == 70


def test_pack_years_and_durations_are_not_ages():
    text = "A patient with a 60 pack-year smoking history, device implanted 12 years before."
    assert extract_fields(text).values["age"] is None


def test_regression_from_a_boy_is_not_an_exposure():
    # "from a 12-year-old boy" once read as "infected from a ..." and dropped the patient.
    values = extract_fields("Chest CT images from a 12-year-old boy showing no lesion.").values
    assert values["age"] == 12


def test_wife_then_patient_pronoun_does_not_give_female():
    text = "A 65-year-old man became ill 4 days after he and his wife had flown to Hanoi."
    assert extract_fields(text).values["sex"] == "M"


def test_regression_patient_years_later_is_not_an_age():
    assert extract_fields("Follow-up of the patient 2 years later.").values["age"] is None


@pytest.mark.parametrize(
    ("text", "age", "sex"),
    [
        ("Age: 45, Sex: F. Chest radiograph.", 45, "F"),
        ("67-yo man with cough.", 67, "M"),
        ("Male 45 years with cough.", 45, "M"),
        ("34 years, male\n\nClinical History\nFever and cough.", 34, "M"),
        ("Patient 2: 44 years, male. Dry cough.", 44, "M"),
        ("43M with fever and cough.", 43, "M"),
        ("Fever for a week. 71 F, smoker.", 71, "F"),
        ("F, 71 yrs. Cough.", 71, "F"),
        ("Elderly woman (83 years) with fever.", 83, "F"),
        ("Sixty-five-year-old woman with dyspnoea.", 65, "F"),
        ("A fifty year old man with fever.", 50, "M"),
        ("A 29-year-old pregnant patient at 32 weeks.", 29, "F"),
    ],
)
def test_more_age_sex_forms(text, age, sex):
    values = extract_fields(text).values
    assert (values["age"], values["sex"]) == (age, sex)


@pytest.mark.parametrize(
    "text",
    [
        "Temp (99 F), cough.",
        "Fig 2 (5 F) shows consolidation.",
        "Smoker for 40 years, male.",
        "Over the past fifty years, lung disease has changed.",
        "The patient's mother (83 years) died.",
        "Patient 2: 44 years, male. Patient 3: 50 years, female.",
    ],
)
def test_numbers_that_are_not_the_patients_age(text):
    assert extract_fields(text).values["age"] is None


def test_pregnant_relative_gives_no_sex():
    text = "The patient, whose pregnant wife was infected, had cough."
    assert extract_fields(text).values["sex"] is None
