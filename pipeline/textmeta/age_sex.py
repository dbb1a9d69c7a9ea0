"""Age (years) and sex (M/F) of the patient, not of the spouse, the contact or a relative."""

from __future__ import annotations

import re

from .fields import Found
from .text import OTHER_PERSON, match_evidence, sentence_bounds

_YEARS_OLD = r"(?:-|\s)?(?:years?|yrs?|yr)(?:-|\s)?(?:old|of\s+age)\b"
_SEX_NOUN_EN = (
    r"man|woman|male|female|boy|girl|gentleman|lady|businessman|businesswoman|"
    r"housewife"
)
_SEX_NOUN_IT = r"uomo|donna|maschio|femmina|ragazzo|ragazza|signore|signora|bambino|bambina"

AGE_PATTERNS = [
    # "55-year-old", "55 years old", "58-year old", "55 years of age"
    re.compile(r"\b(?P<age>\d{1,3})\s*" + _YEARS_OLD, re.I),
    # "65 y/o", "65 yo", "65 y.o."
    re.compile(r"\b(?P<age>\d{1,3})[\s-]*(?:y/o|y\.o\.|yo)(?![a-z])", re.I),
    # "aged 55", "age: 55" (not "at age 40", a past event)
    re.compile(
        r"(?<!at\s)(?<!since\s)(?<!from\s)\b(?:aged?|età)\s*[:=]?\s*(?P<age>\d{1,3})\b"
        r"(?!\s*(?:%|mm|cm))",
        re.I,
    ),
    # "male, 43 years", "Woman, 71 years", "uomo 43 anni", "patient, 60 years" (not "the
    # patient 2 years later")
    re.compile(
        r"\b(?:(?:" + _SEX_NOUN_EN + "|" + _SEX_NOUN_IT + r"|maschile|femminile)\s*,?|"
        r"(?:patient|paziente)\s*,)\s*"
        r"(?P<age>\d{1,3})\s*(?:years?|yrs?|anni|aa)\b"
        r"(?!\s+(?:ago|later|after|before|earlier|prior|post|since|fa|dopo|prima))",
        re.I,
    ),
    # Italian: "uomo di 43 anni", "paziente di 72 anni", "43enne"
    re.compile(r"\bdi\s+(?P<age>\d{1,3})\s*(?:anni|aa)\b", re.I),
    re.compile(r"\b(?P<age>\d{1,3})\s*-?enne\b", re.I),
]

SEX_NOUN = re.compile(r"\b(?P<noun>" + _SEX_NOUN_EN + "|" + _SEX_NOUN_IT + r")\b", re.I)
SEX_ITALIAN_PHRASE = re.compile(r"\bsesso\s+(?P<noun>maschile|femminile)\b", re.I)
# "65 y/o M", "45-year-old F", "F, 61 years": a capital M/F next to an age.
SEX_LETTER = re.compile(
    r"\b\d{1,3}\s*(?:-?\s*(?:y/o|yo|yrs?|years?(?:\s*old)?|-?year-old|anni|aa))\s*,?\s*"
    r"(?P<noun>[MF])\b|\b(?P<noun2>[MF])\s*,\s*\d{1,3}\s*(?:y/o|yo|yrs?|years?|anni|aa)\b"
    r"|\b(?i:sex|gender|sesso)\s*[:=]?\s*(?P<noun3>[MF])\b"
)
MALE_WORDS = {"man", "male", "boy", "gentleman", "businessman", "uomo", "maschio",
              "ragazzo", "signore", "bambino", "maschile", "m"}  # fmt: skip
FEMALE_WORDS = {"woman", "female", "girl", "lady", "businesswoman", "housewife",
                "donna", "femmina", "ragazza", "signora", "bambina", "femminile", "f"}  # fmt: skip
PRONOUN = re.compile(r"\b(?P<male>he|him|his|himself)\b|\b(?P<female>she|her|hers|herself)\b", re.I)

# The age phrase belongs to someone else: "his 60-year-old wife", "contact with a 40-year-old".
_POSSESSIVE_BEFORE = re.compile(r"(?:\b(?:his|her|their|whose|suo|sua|del|della)|'s)\s+$", re.I)
_WORD = r"[A-Za-zÀ-ÿ]+[\s,-]+"
_PATIENT_ANCHOR = re.compile(r"\b(?:patient|paziente|index\s+case|case\s+\d+|proband)\b", re.I)
_EXPOSURE_BEFORE = re.compile(
    r"\b(?:contact|exposed|exposure|infected\s+(?:by|from)|transmitted|acquired\s+from|"
    r"cluster|contatto)\b",
    re.I,
)


def _belongs_to_other(text: str, start: int, end: int, words_between: int = 1) -> bool:
    """Possessive before ("his"), a relative right after ("-year-old wife"), or earlier in the
    sentence a relative or an exposure ("The contact, a 60-year-old woman") not followed by
    a word naming the patient."""
    if _POSSESSIVE_BEFORE.search(text[max(0, start - 12) : start]):
        return True
    other_after = rf"^[\s,-]*(?:{_WORD}){{0,{words_between}}}?" + OTHER_PERSON.pattern
    if re.match(other_after, text[end : end + 40], re.I):
        return True
    s, _ = sentence_bounds(text, start)
    prefix = text[s:start]
    cues = [m.end() for m in OTHER_PERSON.finditer(prefix)]
    cues += [m.end() for m in _EXPOSURE_BEFORE.finditer(prefix)]
    if not cues:
        return False
    return _PATIENT_ANCHOR.search(prefix, max(cues)) is None


def find_age(text: str) -> Found | None:
    """The patient's age in years; None when absent or when different ages compete."""
    found: list[tuple[int, Found]] = []
    for pattern in AGE_PATTERNS:
        for m in pattern.finditer(text):
            age = int(m.group("age"))
            if not 0 < age <= 115 or _belongs_to_other(text, m.start(), m.end()):
                continue
            found.append((m.start(), Found(age, match_evidence(text, m))))
    if not found:
        return None
    values = {f.value for _, f in found}
    if len(values) > 1:
        return None
    return min(found, key=lambda pair: pair[0])[1]


def _sex_of(word: str) -> str | None:
    w = word.lower()
    if w in MALE_WORDS:
        return "M"
    if w in FEMALE_WORDS:
        return "F"
    return None


def find_sex(text: str, *, pronouns: bool = True) -> Found | None:
    """Sex from a noun or M/F next to the age; else from pronouns when only one kind occurs."""
    explicit: list[tuple[int, Found]] = []
    someone_else = False
    for pattern in (SEX_NOUN, SEX_ITALIAN_PHRASE):
        for m in pattern.finditer(text):
            word = m.group("noun")
            if _belongs_to_other(text, m.start(), m.end(), words_between=0):
                someone_else = True
                continue
            sex = _sex_of(word)
            if sex:
                explicit.append((m.start(), Found(sex, match_evidence(text, m, "noun"))))
    for m in SEX_LETTER.finditer(text):
        if _belongs_to_other(text, m.start(), m.end(), words_between=0):
            someone_else = True
            continue
        group = next(g for g in ("noun", "noun2", "noun3") if m.group(g))
        explicit.append((m.start(group), Found(m.group(group), match_evidence(text, m, group))))
    if explicit:
        values = {f.value for _, f in explicit}
        return min(explicit, key=lambda pair: pair[0])[1] if len(values) == 1 else None
    # Pronouns could be anyone's once the text names a person who is not the patient.
    return _sex_from_pronouns(text) if pronouns and not someone_else else None


def _sex_from_pronouns(text: str) -> Found | None:
    male = [m for m in PRONOUN.finditer(text) if m.group("male")]
    female = [m for m in PRONOUN.finditer(text) if m.group("female")]
    if male and not female:
        return Found("M", match_evidence(text, male[0]))
    if female and not male:
        return Found("F", match_evidence(text, female[0]))
    return None
