"""RT_PCR_positive: Y/N from a reported SARS-CoV-2 test result."""

from __future__ import annotations

import re

from .fields import Found
from .finding import COVID
from .text import about_other_person, evidence, sentence_bounds

COVID_TERM = re.compile(r"\b(?:" + COVID + r")\b", re.I)
OTHER_PATHOGEN = re.compile(
    r"\b(?:influenza|legionella|mycoplasma|pneumococc\w*|streptococc\w*|HIV|RSV|syncytial|"
    r"tubercul\w*|chlamyd\w*|klebsiella|varicella)\b",
    re.I,
)
# A lab test of a sample; a bare "PCR" followed by a number is C-reactive protein (Italian PCR).
TEST = re.compile(
    r"\b(?:r?RT[-\s]?PCR|real[-\s]time\s+(?:reverse[-\s]transcript\w*[-\s])?(?:PCR|polymerase)|"
    r"polymerase\s+chain\s+reaction|PCR(?!\s*[:=(]?\s*\d)(?!\s+(?:not|non)\s)|"
    r"swabs?|tampon[ei]|nucleic\s+acid|RNA|tested|test|assay)\b",
    re.I,
)
POSITIVE = re.compile(r"\b(?:positiv[eoi]\w*|detected|confirmed|rilevato)\b", re.I)
NEGATIVE = re.compile(r"\b(?:negativ[eoi]\w*|not\s+detected|undetectable)\b", re.I)


def find_rt_pcr(text: str, covid_text: bool) -> Found | None:
    """Y when a test of this patient was positive for SARS-CoV-2; N when only negatives.

    `covid_text`: the text's finding is COVID-19, so a result without a pathogen named
    ("PCR positive") is read as a SARS-CoV-2 result.
    """
    positives: list[Found] = []
    negatives: list[Found] = []
    for m in TEST.finditer(text):
        s, e = sentence_bounds(text, m.start())
        sentence = text[s:e]
        if about_other_person(text, m.start()):
            continue
        if OTHER_PATHOGEN.search(sentence):
            continue
        if not (COVID_TERM.search(sentence) or covid_text):
            continue
        for polarity, bucket, value in ((POSITIVE, positives, "Y"), (NEGATIVE, negatives, "N")):
            hit = polarity.search(sentence)
            if hit:
                start, end = min(m.start(), s + hit.start()), max(m.end(), s + hit.end())
                bucket.append(Found(value, evidence(text, start, end)))
    if positives:
        return positives[0]
    return negatives[0] if negatives else None
