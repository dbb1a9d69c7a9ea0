"""The sites' words mapped to the collection's: finding names, modality, view, age, sex."""

from __future__ import annotations

import re

# The collection's finding names, most specific first: the first that matches wins.
# COVID-19 comes before SARS so that "SARS-CoV-2" is not read as SARS.
FINDING_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.I))
    for name, pattern in (
        ("COVID-19", r"covid|sars[- ]?cov[- ]?2|2019[- ]?ncov|novel coronavirus|"
                     r"coronavirus disease 2019|nuovo coronavirus"),
        ("SARS", r"\bSARS\b|severe acute respiratory syndrome"),
        ("MERS", r"\bMERS\b|middle east respiratory"),
        ("Pneumocystis", r"pneumocystis|\bPCP\b|\bPJP\b"),
        ("Legionella", r"legionell|legionnaire"),
        ("Mycoplasma Bacterial Pneumonia", r"mycoplasma"),
        ("Klebsiella", r"klebsiella"),
        ("Streptococcus", r"streptococc|pneumococc"),
        ("Staphylococcus", r"staphylococc|\bMRSA\b"),
        ("Chlamydophila", r"chlamydophila|chlamydia pneumoniae"),
        ("E.Coli", r"\bE\.? ?coli\b|escherichia"),
        ("Varicella", r"varicella|chicken ?pox"),
        ("Influenza", r"influenza|\bH1N1\b|\bH5N1\b"),
        ("Tuberculosis", r"tubercul"),
        ("Aspergillosis", r"aspergill"),
        ("Nocardia", r"nocardia"),
        ("Lipoid", r"lipoid"),
        ("ARDS", r"\bARDS\b|acute respiratory distress"),
    )
)  # fmt: skip


def finding_name(*texts: str | None) -> tuple[str | None, str | None]:
    """The collection's finding name for the first text that names one, and the line
    (at most 200 characters) that names it."""
    for text in texts:
        if not text:
            continue
        for name, pattern in FINDING_PATTERNS:
            match = pattern.search(text)
            if match:
                start = text.rfind("\n", 0, match.start()) + 1
                end = text.find("\n", match.end())
                return name, text[start : end if end >= 0 else len(text)][:200]
    return None, None


_XRAY = re.compile(
    r"x[- ]?rays?\b|radiograph|\bCXR\b|chest film|plain film|\bRX\b|radiografi|portable chest",
    re.I,
)
_CT = re.compile(
    r"\bCT\b|\bHRCT\b|\bNECT\b|\bCECT\b|\bCTPA\b|computed tomograph|\bTC\b|\bTAC\b|"
    r"tomografia computerizzata",
    re.I,
)
_OTHER = re.compile(r"\bMRI?\b|ultraso|\bUS\b|\bPET\b|ecografi|echocardio|risonanza", re.I)


def modality_name(word: str | None) -> str | None:
    """A site's modality word ("X-ray", "CT", "MRI", ...) as "X-ray", "CT" or "other"."""
    if not word:
        return None
    word = word.strip()
    if re.fullmatch(r"(?i)ct|computed tomography", word):
        return "CT"
    if _XRAY.search(word) or re.fullmatch(r"(?i)xray|cr|dx|radiography|plain", word):
        return "X-ray"
    return "other"


def modality_from_text(text: str | None) -> str | None:
    """ "X-ray" or "CT" when a legend names exactly one of them; "other" for MRI, ultrasound."""
    if not text:
        return None
    xray, ct = bool(_XRAY.search(text)), bool(_CT.search(text))
    if xray != ct:
        return "X-ray" if xray else "CT"
    if not xray and _OTHER.search(text):
        return "other"
    return None


_VIEW_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("L", re.compile(r"\blateral|\blat\b|laterale|(?-i:\bLL\b)", re.I)),
    ("AP Supine", re.compile(r"\bsupine|\bsupin[oa]\b|clinostatismo", re.I)),
    ("AP", re.compile(r"(?-i:\bAP\b)|antero-?posterior|portable|bedside|\ba(?:l)? letto\b", re.I)),
    ("PA", re.compile(r"(?-i:\bPA\b)|postero-?anterior", re.I)),
    ("Coronal", re.compile(r"\bcoronal", re.I)),
    ("Axial", re.compile(r"\baxial|\bassiale|\btransverse\b", re.I)),
)
_XRAY_VIEWS = ("L", "AP Supine", "AP", "PA")


def view_name(modality: str | None, *words: str | None) -> str | None:
    """The collection's view for an image, from the site's view words or legend.

    None when the words name no view or several (a legend for a PA and a lateral film):
    "Frontal" alone says neither PA nor AP, so the reviewer decides.
    """
    text = " ".join(word for word in words if word)
    found = {name for name, pattern in _VIEW_WORDS if pattern.search(text)}
    if modality == "CT":
        found -= set(_XRAY_VIEWS)
    elif modality == "X-ray":
        found &= set(_XRAY_VIEWS)
    if {"AP Supine", "AP"} <= found:
        found.discard("AP")
    if found == {"AP Supine", "PA"}:  # "supine PA" is not a thing; supine films are AP
        found = {"AP Supine"}
    return found.pop() if len(found) == 1 else None


def sex_name(text: str | None) -> str | None:
    if not text:
        return None
    word = text.strip().lower()
    if re.search(r"\b(female|woman|girl|f|donna|femmina|femminile)\b", word):
        return "F"
    if re.search(r"\b(male|man|boy|m|uomo|maschio|maschile)\b", word):
        return "M"
    return None


_AGE = re.compile(
    r"(?P<n>\d{1,3}(?:\.\d)?)\s*(?P<unit>years?|yrs?|y\b|anni|months?|mesi|weeks?|days?)?",
    re.I,
)


def age_years(text: str | None) -> float | int | None:
    """ "70 years" -> 70, "18 months" -> 1.5, "62, male" -> 62; None for "Adult" or a range."""
    if not text or re.search(r"\d\s*[-–]\s*\d", text):
        return None
    match = _AGE.search(text)
    if not match:
        return None
    number = float(match.group("n"))
    unit = (match.group("unit") or "years").lower()
    if unit.startswith(("month", "mes")):
        return round(number / 12, 1)
    if unit.startswith(("week", "day")):
        return 0
    if number > 120:
        return None
    return int(number) if number.is_integer() else number
