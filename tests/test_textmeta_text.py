"""Mangled text, the one tokenisation, and the ConText engine over the cue tables."""

import pytest

from pipeline.textmeta import extract_fields
from pipeline.textmeta.document import make_doc
from pipeline.textmeta.normalize import normalize
from pipeline.textmeta.text import detect_language


@pytest.mark.parametrize(
    ("text", "repaired"),
    [
        ("Fever 38?5 C", "Fever 38.5 C"),  # '·' lost: a decimal point, not a whole degree
        ("fever (38?C)", "fever (38°C)"),
        ("T ? 40 ? C", "T   40 ° C"),
        ("COVID?19 in a 55?year?old", "COVID-19 in a 55-year-old"),
        ("a ?wet market? (a market)", 'a "wet market" (a market)'),
        ("38Â°C, 2â€“3 days", "38°C, 2-3 days"),  # UTF-8 read as Latin-1
        ("24\u2010year\u2010old, 38\u00b75", "24-year-old, 38.5"),
        ("Is it COVID? No.", "Is it COVID? No."),  # a real question mark stays
    ],
)
def test_normalize_repairs_lost_characters(text, repaired):
    assert normalize(text).text == repaired


def test_evidence_of_repaired_text_quotes_the_original():
    text = "Febbre 38Â°C. Donna di 60 anni, 38?5 ?C."
    fields = extract_fields(text)
    assert fields.values["temperature"] == 38.0 and fields.values["age"] == 60
    for ev in fields.evidence.values():
        assert text[ev.start : ev.end] == ev.text


def test_spacing_does_not_change_tokens():
    a = [t.lower for t in make_doc("55-year-old man, x-ray").tokens]
    b = [t.lower for t in make_doc("55 - year - old man , x - ray").tokens]
    assert a == b


def test_sentences_do_not_break_inside_numbers():
    doc = make_doc("Fever 38.5 C. Cough; dyspnoea\nCT normal")
    assert [doc.span_text(s, e) for s, e in doc.sentences] == [
        "Fever 38.5 C.",
        "Cough;",
        "dyspnoea",
        "CT normal",
    ]


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        # the probe's light rewordings of handled wordings (issue 18)
        ("Her grandfather, who was in the ICU, died.", "survival", None),
        ("Her grandfather, who was in the ICU, died.", "went_icu", None),
        ("She was transferred to the ICU where she was not intubated.", "went_icu", "Y"),
        ("She was transferred to the ICU where she was not intubated.", "intubated", "N"),
        ("Intubation was deemed unnecessary.", "intubated", "N"),
    ],
)
def test_context_scopes(text, field, value):
    assert extract_fields(text).values[field] == value


def test_language_detection():
    assert detect_language("Uomo di 43 anni con febbre e tosse da 5 giorni") == "it"
    assert detect_language("A 43-year-old man with fever and cough for 5 days") == "en"


def test_cue_tables_load_lazily():
    import subprocess
    import sys

    code = (
        "import sys, pipeline.textmeta, pipeline.textmeta.cli; "
        "print(any(m.endswith(('matcher', 'context', 'outcomes')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
