"""Finding (diagnosis) in the collection's names, from asserted mentions only."""

from __future__ import annotations

import re

from .fields import Found
from .text import about_other_person, is_negated, match_evidence, sentence_bounds

COVID = (
    r"covid[-\s]?(?:20)?19|covid|sars[-\s]?cov[-\s]?2|2019[-\s]?ncov|novel\s+coronavirus|"
    r"coronavirus\s+disease(?:\s+2019)?|\bNCP\b|\bSARS\s+VOC\s*2"
)
FINDINGS: list[tuple[str, re.Pattern[str]]] = [
    ("COVID-19", re.compile(r"\b(?:" + COVID + r")\b", re.I)),
    ("SARS", re.compile(r"\bSARS\b(?![-\s]?(?:CoV|VOC))|severe\s+acute\s+respiratory\s+syndrome"
                        r"(?!\s+coronavirus\s+2)", re.I)),
    ("MERS", re.compile(r"\bMERS(?:-CoV)?\b|middle\s+east\s+respiratory\s+syndrome", re.I)),
    ("ARDS", re.compile(r"\bARDS\b|acute\s+respiratory\s+distress\s+syndrome", re.I)),
    ("Pneumocystis", re.compile(r"\bpneumocystis\b|\bPCP\b|\bPJP\b", re.I)),
    ("Streptococcus", re.compile(r"\bstreptococc\w*|\bpneumococc\w*", re.I)),
    ("Klebsiella", re.compile(r"\bklebsiella\b", re.I)),
    ("Legionella", re.compile(r"\blegionell\w*|\blegionnaires?\b", re.I)),
    ("Mycoplasma Bacterial Pneumonia", re.compile(r"\bmycoplasma\b", re.I)),
    ("Chlamydophila", re.compile(r"\bchlamyd\w*", re.I)),
    ("E.Coli", re.compile(r"\bE\.?\s?coli\b|\bescherichia\b", re.I)),
    ("Lipoid", re.compile(r"\blipoid\s+pneumonia\b|\bpolmonite\s+lipoidea\b", re.I)),
    ("Varicella", re.compile(r"\bvaricella\b", re.I)),
    ("Influenza", re.compile(r"\binfluenza\b|\bH1N1\b", re.I)),
    ("Tuberculosis", re.compile(r"\btubercul\w+|\bTB\b", re.I)),
    ("Aspergillosis", re.compile(r"\baspergill\w+", re.I)),
]  # fmt: skip
# A mention that is not a diagnosis of this patient.
NOT_ASSERTED = re.compile(
    r"\b(?:suspect\w*|suspicion|hypothes\w+|differential|rule\s+out|ruled\s+out|exclude\w*|"
    r"(?<!positive\s)(?<!negative\s)test(?:ed|ing)?\s+for|screen\w*|outbreaks?\s+of|"
    r"epidemic\s+of|spread\s+of|areas?\s+(?:of|with)|such\s+as|usually|typically|commonly|e\.g\.|like|mimic\w*|"
    r"history\s+of|prior|previous|healed|vaccin\w*|prophyla\w*|sospett\w*)\b",
    re.I,
)
NOT_DIAGNOSIS_AFTER = re.compile(
    r"^[\s-]*(?:outbreak|pandemic|epidemic|era|area|zone|region|ward|unit|units|hospital|"
    r"patients?|cases|positive\s+(?:patients?|pcs|people|subjects|contacts?)|crisis|"
    r"emergency|period|times?|test(?:ing)?|swabs?)\b",
    re.I,
)
SYNDROMES = {"ARDS"}


def _asserted(text: str, m: re.Match) -> bool:
    if NOT_DIAGNOSIS_AFTER.match(text[m.end() : m.end() + 30]):
        return False
    if is_negated(text, m.start()) or about_other_person(text, m.start()):
        return False
    s, _ = sentence_bounds(text, m.start())
    return NOT_ASSERTED.search(text[s : m.start()]) is None


def find_finding(text: str) -> Found | None:
    """The one pathogen the text asserts (a syndrome like ARDS only when no pathogen is)."""
    taken: list[tuple[int, int]] = []
    found: dict[str, Found] = {}
    for name, pattern in FINDINGS:
        for m in pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            taken.append((m.start(), m.end()))
            if _asserted(text, m) and name not in found:
                found[name] = Found(name, match_evidence(text, m))
    pathogens = {n: f for n, f in found.items() if n not in SYNDROMES}
    chosen = pathogens or found
    return next(iter(chosen.values())) if len(chosen) == 1 else None
