"""Italian (SIRM) notes."""

import pytest

from pipeline.textmeta import extract_fields
from pipeline.textmeta.text import detect_language


def test_uomo_di_anni():
    values = extract_fields("Uomo di 43 anni con febbre da 5 giorni e tosse.").values
    assert (values["age"], values["sex"], values["offset"]) == (43, "M", 5)


def test_paziente_sesso_femminile():
    values = extract_fields(
        "Paziente di 72 anni, sesso femminile, giunge in PS per dispnea."
    ).values
    assert (values["age"], values["sex"]) == (72, "F")


def test_italian_outcomes_and_comma_decimal():
    text = "Donna di 60 anni, TC 38,5 °C. Ricoverata in terapia intensiva e intubata. Deceduta."
    values = extract_fields(text).values
    assert values["temperature"] == 38.5
    assert values["went_icu"] == "Y"
    assert values["intubated"] == "Y"
    assert values["survival"] == "N"


def test_italian_negation():
    values = extract_fields("Paziente di 50 anni, non intubato, dimesso dopo 10 giorni.").values
    assert values["intubated"] == "N"
    assert values["survival"] == "Y"


def test_italian_alcuni_giorni_is_five():
    assert extract_fields("Donna di 55 anni, febbre da alcuni giorni.").values["offset"] == 5


def test_language_detection():
    assert detect_language("Uomo di 43 anni con febbre e tosse da 5 giorni") == "it"
    assert detect_language("A 43-year-old man with fever and cough for 5 days") == "en"


def test_italian_pcr_is_c_reactive_protein_not_a_swab():
    values = extract_fields(
        "Uomo di 63 anni. PCR 16.27 mg/dL, positiva. Tampone non eseguito."
    ).values
    assert values["RT_PCR_positive"] is None


def test_sesso_femminile_then_age():
    values = extract_fields("Paziente di sesso femminile, 80 anni, in ossigenoterapia.").values
    assert (values["age"], values["sex"], values["needed_supplemental_O2"]) == (80, "F", "Y")


def test_spouse_age_in_italian_does_not_leak():
    values = extract_fields("Uomo, 58 anni. Contatto con la moglie di 55 anni positiva.").values
    assert (values["age"], values["sex"]) == (58, "M")


def test_sub_intensive_is_not_icu():
    assert extract_fields("Ricoverata in terapia sub-intensiva.").values["went_icu"] is None


@pytest.mark.parametrize(
    ("text", "sex"),
    [
        ("Il paziente giunge in PS con febbre e tosse da 5 giorni.", "M"),
        ("La paziente giunge in PS con febbre. Alla paziente viene eseguita una TC.", "F"),
        ("Il paziente riferisce contatto con la paziente del letto accanto.", None),
    ],
)
def test_sex_from_the_italian_article(text, sex):
    assert extract_fields(text).values["sex"] == sex
