"""Temperature (Celsius, Fahrenheit converted), view, finding and RT-PCR."""

import pytest

from pipeline.textmeta import extract_fields


@pytest.mark.parametrize(
    ("text", "celsius"),
    [
        ("Fever of 39.2 °C on arrival.", 39.2),
        ("Temperature 101.5 F, cough.", 38.6),
        ("Temperature was 102.2 degrees Fahrenheit.", 39.0),
        ("Admitted with fever (38?C) and dyspnea.", 38.0),  # degree sign lost as "?"
        ("On physical examination: T ? 40 ? C and dyspnea.", 40.0),
        ("TC 38,2 °C.", 38.2),
        ("Body temperature dropped from 39.0 ? C to 36.4 ? C.", 39.0),
    ],
)
def test_temperature(text, celsius):
    assert extract_fields(text).values["temperature"] == celsius


@pytest.mark.parametrize(
    "text",
    [
        "Symptoms with fever up to 38 °C at home.",
        "SpO2 98 % in room air.",
        "Samples incubated at 37 °C.",
        "Apyretic patient.",
    ],
)
def test_not_a_body_temperature(text):
    assert extract_fields(text).values["temperature"] is None


def test_presenting_temperature_is_not_given_to_a_follow_up_image():
    text = (
        "Admitted with fever (38?C). Radiological worsening, with changes within the lower lobes."
    )
    assert extract_fields(text).values["temperature"] is None


@pytest.mark.parametrize(
    ("text", "view"),
    [
        ("Posteroanterior chest radiograph shows consolidation.", "PA"),
        ("Portable AP chest radiograph.", "AP"),
        ("AP bedside chest X-ray.", "AP"),
        ("Supine chest radiograph in the ICU.", "AP Supine"),
        ("Supine AP radiograph.", "AP Supine"),
        ("Lateral radiograph shows a small effusion.", "L"),
        ("Left lateral chest x-ray showed consolidation.", "L"),
        ("CT scan, axial view: bilateral GGO.", "Axial"),
        ("Coronal reformats show GGO.", "Coronal"),
        ("Chest X-ray (antero-posterior view).", "AP"),
    ],
)
def test_view(text, view):
    assert extract_fields(text).values["view"] == view


@pytest.mark.parametrize(
    "text",
    [
        "On the PA radiograph there is an opacity, confirmed on the lateral image.",
        "Bilateral opacities in the lateral segment of the right lower lobe.",
        "PaO2 82 mmHg.",
    ],
)
def test_no_single_view(text):
    assert extract_fields(text).values["view"] is None


@pytest.mark.parametrize(
    ("text", "finding"),
    [
        ("Pneumonia caused by SARS-CoV-2 in a 50-year-old man.", "COVID-19"),
        ("Novel coronavirus pneumonia.", "COVID-19"),
        ("Confirmed 2019-nCoV infection.", "COVID-19"),
        ("Pneumocystis pneumonia in a patient with untreated HIV.", "Pneumocystis"),
        ("Histology consistent with a lipoid pneumonia.", "Lipoid"),
        ("Urinary antigen test positive for Legionella.", "Legionella"),
    ],
)
def test_finding(text, finding):
    assert extract_fields(text).values["finding"] == finding


@pytest.mark.parametrize(
    "text",
    [
        "He tested negative for COVID-19.",
        "She was tested for COVID-19 and influenza.",
        "Our hospital is in an area of the COVID-19 outbreak.",
        "Important differential diagnosis for COVID-19 pneumonia.",
    ],
)
def test_finding_not_asserted(text):
    assert extract_fields(text).values["finding"] is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Throat swab was positive for SARS-CoV-2 by RT-PCR.", "Y"),
        ("SARS-CoV-2 RNA was detected.", "Y"),
        ("He tested negative for COVID-19 infection.", "N"),
        ("First RT-PCR for SARS-CoV-2 was negative; the second RT-PCR was positive.", "Y"),
    ],
)
def test_rt_pcr(text, value):
    assert extract_fields(text).values["RT_PCR_positive"] == value


def test_rt_pcr_for_another_virus_is_not_sars_cov_2():
    text = "PCR after respiratory swab was positive for influenza A virus RNA."
    assert extract_fields(text).values["RT_PCR_positive"] is None
