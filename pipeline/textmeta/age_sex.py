"""Age (years) and sex (M/F) of the patient, not of the spouse, the contact or a relative."""

from __future__ import annotations

import re

from .fields import Found
from .text import OTHER_PERSON, match_evidence, sentence_bounds

_YEARS_OLD = r"(?:-|\s)?(?:years?|yrs?|yr|y)(?:-\s?|\s)?(?:old|of\s+age)\b"
_SEX_NOUN_EN = (
    r"man|woman|male|female|boy|girl|gentleman|lady|businessman|businesswoman|"
    r"housewife"
)
_SEX_NOUN_IT = r"uomo|donna|maschio|femmina|ragazzo|ragazza|signore|signora|bambino|bambina"
# Case reports in Spanish, French, Portuguese and German turn up in searches too.
_SEX_NOUN_OTHER = (
    r"hombre|mujer|var[oó]n|homme|femme|homem|mulher|masculin[oa]|femenin[oa]|feminin[oa]|"
    r"(?-i:Patientin)"
)
_SEX_WORD = (
    _SEX_NOUN_EN + "|" + _SEX_NOUN_IT + "|" + _SEX_NOUN_OTHER + r"|maschile|femminile|(?-i:[MF])"
)
_YEARS = r"(?:years?|yrs?|anni|aa|años|anos|ans)"
# "sixty-five", "Fifty": ages written out, as at the start of a sentence.
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}  # fmt: skip
_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9}  # fmt: skip
_TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
          "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
          "nineteen": 19}  # fmt: skip
_AGE_WORDS = (
    r"(?:(?:"
    + "|".join(_TENS)
    + r")(?:[\s-](?:"
    + "|".join(_UNITS)
    + r"))?|"
    + "|".join((*_TEENS, *_UNITS))
    + r"|one\s+hundred(?:\s+and\s+\w+)?)"
)

# Where a text, sentence, line or list item begins: the only place an age stands alone
# ("34 years, male", "43M with fever") without being a duration or a temperature ("99 F").
_OPENING = r"(?:^|(?<=[.;:]\s)|(?<=\n))\s*"
_COMPACT_END = r"\b(?=\s*(?:[,;:]|with\b|w/|who\b|present\w*|$))"

AGE_PATTERNS = [
    # "55-year-old", "55 years old", "58-year old", "55 years of age"
    re.compile(r"\b(?P<age>\d{1,3})\s*" + _YEARS_OLD, re.I),
    # "Sixty-five-year-old", "a fifty year old"
    re.compile(r"\b(?P<age_words>" + _AGE_WORDS + r")\s*" + _YEARS_OLD, re.I),
    # "65 y/o", "65 yo", "65 y.o."
    re.compile(r"\b(?P<age>\d{1,3})[\s-]*(?:y/o|y\.o\.|yo)(?![a-z])", re.I),
    # "aged 55", "age: 55" (not "at age 40", a past event)
    re.compile(
        r"(?<!at\s)(?<!since\s)(?<!from\s)\b(?:aged?|età)\s*[:=]?\s*(?P<age>\d{1,3})\b"
        r"(?!\s*(?:%|mm|cm|months?|mo\b|weeks?|days?|mesi|giorni|settimane))",
        re.I,
    ),
    # "male, 43 years", "Woman, 71 years", "F, 71 yrs", "uomo 43 anni", "patient, 60 years",
    # "Patient 2: 44 years", "woman (83 years)" (not "the patient 2 years later")
    re.compile(
        r"\b(?:(?:" + _SEX_WORD + r")\s*[,(]?|(?:patient|paziente)(?:\s+\d{1,2})?\s*[,:(])\s*"
        r"(?P<age>\d{1,3})\s*" + _YEARS + r"\b"
        r"(?!\s+(?:ago|later|after|before|earlier|prior|post|since|fa|dopo|prima))",
        re.I,
    ),
    # "44 years, male", "34 years, female" (the header of a case page), "70 anni, uomo"
    re.compile(
        _OPENING + r"(?P<age>\d{1,3})\s*" + _YEARS + r"\s*[,/]\s*(?:" + _SEX_WORD + r")\b", re.I
    ),
    # "43M with fever", "43 F, cough": the compact form
    re.compile(_OPENING + r"(?P<age>\d{1,3})\s?[MF]" + _COMPACT_END),
    # Italian: "uomo di 43 anni", "paziente di 72 anni", "43enne"
    re.compile(r"\bdi\s+(?P<age>\d{1,3})\s*(?:anni|aa)\b", re.I),
    # "paziente di anni 53", "età anni 70"
    re.compile(r"\b(?:di|età)\s+anni\s+(?P<age>\d{1,3})\b", re.I),
    re.compile(r"\b(?P<age>\d{1,3})\s*-?enne\b", re.I),
    # "un hombre de 46 años", "un homme asthmatique de 28 ans" (not "historia de 5 años")
    re.compile(
        r"\b(?:" + _SEX_NOUN_OTHER + r"|paciente|patiente?)\s+(?:\w+\s+){0,2}?de\s+"
        r"(?P<age>\d{1,3})\s*(?:años|anos|ans)\b",
        re.I,
    ),
    # German: "der 74-Jährige", "einer 53-jährigen Patientin"
    re.compile(r"\b(?P<age>\d{1,3})-?jährige[nrm]?\b", re.I),
]

# Only a woman is pregnant: "a 29-year-old pregnant patient", "paziente incinta".
_PREGNANT = r"pregnant|gravida|primigravida|multigravida|incinta|puerpera"
SEX_NOUN = re.compile(
    r"\b(?P<noun>"
    + _SEX_NOUN_EN
    + "|"
    + _SEX_NOUN_IT
    + "|"
    + _SEX_NOUN_OTHER
    + "|"
    + _PREGNANT
    + r")\b",
    re.I,
)
SEX_ITALIAN_PHRASE = re.compile(r"\bsesso\s+(?P<noun>maschile|femminile)\b", re.I)
# "65 y/o M", "45-year-old F", "F, 61 years": a capital M/F next to an age.
SEX_LETTER = re.compile(
    r"\b\d{1,3}\s*(?:-?\s*(?:y/o|yo|yrs?|years?(?:\s*old)?|-?year-old|anni|aa))\s*,?\s*"
    r"(?P<noun>[MF])\b|\b(?P<noun2>[MF])\s*,\s*\d{1,3}\s*(?:y/o|yo|yrs?|years?|anni|aa)\b"
    r"|\b(?i:sex|gender|sesso)\s*[:=]?\s*(?P<noun3>[MF])\b"
    r"|" + _OPENING + r"\d{1,3}\s?(?P<noun4>[MF])" + _COMPACT_END
)
MALE_WORDS = {"man", "male", "boy", "gentleman", "businessman", "uomo", "maschio",
              "ragazzo", "signore", "bambino", "maschile", "m", "hombre", "varon", "varón",
              "homme", "homem", "masculino", "masculina"}  # fmt: skip
FEMALE_WORDS = {"woman", "female", "girl", "lady", "businesswoman", "housewife",
                "donna", "femmina", "ragazza", "signora", "bambina", "femminile", "f", "pregnant",
                "gravida", "primigravida", "multigravida", "incinta", "puerpera", "mujer",
                "femme", "mulher", "femenino", "femenina", "feminino", "feminina",
                "patientin"}  # fmt: skip
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


_INDEFINITE_BEFORE = re.compile(r"\b(?:a|an)\s+$", re.I)
_CHILD = re.compile(r"\b(?:child|kid|toddler)\b", re.I)


def _belongs_to_other(text: str, start: int, end: int, words_between: int = 1) -> bool:
    """Possessive before ("his"), a relative right after ("-year-old wife"), or earlier in the
    sentence a relative or an exposure ("The contact, a 60-year-old woman") not followed by
    a word naming the patient."""
    if _POSSESSIVE_BEFORE.search(text[max(0, start - 12) : start]):
        return True
    other_after = rf"^[\s,-]*(?:{_WORD}){{0,{words_between}}}?" + OTHER_PERSON.pattern
    after = re.match(other_after, text[end : end + 40], re.I)
    # "A 10-year-old child presented": a child introduced with "a" is the patient.
    introduced = _INDEFINITE_BEFORE.search(text[max(0, start - 4) : start])
    if after and not (introduced and _CHILD.search(after.group())):
        return True
    s, _ = sentence_bounds(text, start)
    prefix = text[s:start]
    cues = [m.end() for m in OTHER_PERSON.finditer(prefix)]
    cues += [m.end() for m in _EXPOSURE_BEFORE.finditer(prefix)]
    if not cues:
        return False
    return _PATIENT_ANCHOR.search(prefix, max(cues)) is None


def _age_value(m: re.Match) -> int:
    if "age_words" not in m.re.groupindex or not m.group("age_words"):
        return int(m.group("age"))
    words = re.split(r"[\s-]+", m.group("age_words").lower())
    if words[0] == "one":
        return 100 if len(words) > 1 else 1
    total = 0
    for word in words:
        total += _TENS.get(word) or _UNITS.get(word) or _TEENS.get(word, 0)
    return total


def find_age(text: str) -> Found | None:
    """The patient's age in years; None when absent or when different ages compete."""
    found: list[tuple[int, Found]] = []
    for pattern in AGE_PATTERNS:
        for m in pattern.finditer(text):
            age = _age_value(m)
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


# The baby a patient gave birth to: "delivering a healthy boy", "gave birth to a girl", "a
# 2565-g male infant was delivered" (but "a term-born boy" is the patient).
BORN = re.compile(
    r"\b(?:deliver\w*|gave\s+birth\s+to|birth\s+(?:of|to)|partorit\w*|dato\s+alla\s+luce)"
    r"\s+(?:\w+\s+){0,3}$",
    re.I,
)
BORN_AFTER = re.compile(
    r"\s+(?:(?:infant|baby|newborn|neonate)\s+)?(?:was|were)\s+(?:\w+\s+)?(?:delivered|born)\b",
    re.I,
)


def find_sex(text: str, *, pronouns: bool = True) -> Found | None:
    """Sex from a noun or M/F next to the age; else from pronouns when only one kind occurs."""
    explicit: list[tuple[int, Found]] = []
    someone_else = False
    for pattern in (SEX_NOUN, SEX_ITALIAN_PHRASE):
        for m in pattern.finditer(text):
            word = m.group("noun")
            if (
                _belongs_to_other(text, m.start(), m.end(), words_between=0)
                or BORN.search(text[max(0, m.start() - 40) : m.start()])
                or BORN_AFTER.match(text, m.end())
            ):
                someone_else = True
                continue
            sex = _sex_of(word)
            if sex:
                explicit.append((m.start(), Found(sex, match_evidence(text, m, "noun"))))
    for m in SEX_LETTER.finditer(text):
        if _belongs_to_other(text, m.start(), m.end(), words_between=0):
            someone_else = True
            continue
        group = next(g for g in ("noun", "noun2", "noun3", "noun4") if m.group(g))
        explicit.append((m.start(group), Found(m.group(group), match_evidence(text, m, group))))
    if explicit:
        values = {f.value for _, f in explicit}
        return min(explicit, key=lambda pair: pair[0])[1] if len(values) == 1 else None
    if someone_else:
        return None
    # Pronouns could be anyone's once the text names a person who is not the patient.
    return _sex_from_pronouns(text) if pronouns else _sex_from_italian_article(text)


# Italian marks the patient's sex on the article: "la paziente" is a woman, "il paziente" a man.
ITALIAN_ARTICLE = re.compile(
    r"\b(?:(?P<female>la|della|alla|dalla|nella|sulla)|(?P<male>il|del|al|dal|nel|sul))\s+"
    r"paziente\b",
    re.I,
)


def _sex_from_italian_article(text: str) -> Found | None:
    matches = list(ITALIAN_ARTICLE.finditer(text))
    sexes = {"F" if m.group("female") else "M" for m in matches}
    if len(sexes) != 1:
        return None
    return Found(sexes.pop(), match_evidence(text, matches[0]))


def _sex_from_pronouns(text: str) -> Found | None:
    male = [m for m in PRONOUN.finditer(text) if m.group("male")]
    female = [m for m in PRONOUN.finditer(text) if m.group("female")]
    if male and not female:
        return Found("M", match_evidence(text, male[0]))
    if female and not male:
        return Found("F", match_evidence(text, female[0]))
    return None
