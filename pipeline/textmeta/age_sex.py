"""Age (years) and sex (M/F) of the patient, not of the spouse, the contact or a relative.

The wordings are data (rules/age_sex.json); an age or a sex counts when no cue of another
person reaches it, and only when the text gives one value (different ages compete: None).
Without a sex word, the pronouns say the sex (English) or the article before "paziente"
(Italian), unless the text names someone else's sex.
"""

from __future__ import annotations

from .context import assert_targets
from .document import Doc
from .fields import Found
from .matcher import Match, load_table, longest_first
from .values import read_age

TABLE = "age_sex"


def _asserted(doc: Doc, categories: set[str]) -> list[tuple[Match, bool]]:
    """The table's matches of `categories` (blockers resolved), each with whether it is about
    the patient."""
    table = load_table(TABLE)
    found = longest_first(table.find(doc, categories | {"BLOCK"}))
    targets = [m for m in found if m.category != "BLOCK"]
    return [
        (item.target, not item.has("OTHER_EXPERIENCER"))
        for item in assert_targets(doc, targets, (TABLE,))
    ]


def find_age(doc: Doc) -> Found | None:
    """The patient's age in years; None when absent or when different ages compete."""
    low, high = load_table(TABLE).data["ages"]
    found: list[Found] = []
    for m, about_patient in _asserted(doc, {"AGE", "AGE_SEX"}):
        age = read_age(doc, m.start, m.end)
        if about_patient and age is not None and low <= age <= high:
            found.append(Found(age, doc.evidence(m.start, m.end)))
    if len({f.value for f in found}) != 1:
        return None
    return found[0]


def _sex_in(doc: Doc, m: Match) -> str | None:
    data = load_table(TABLE).data
    for token in doc.tokens[m.start : m.end]:
        if token.text in ("M", "F"):
            return token.text
        if token.text[:-1].isdigit() and token.text[-1] in "MF":
            return token.text[-1]  # "43M"
        if token.lower in data["male_words"]:
            return "M"
        if token.lower in data["female_words"]:
            return "F"
    return None


def find_sex(doc: Doc, *, pronouns: bool = True) -> Found | None:
    """Sex from a noun or M/F next to the age; else from pronouns when only one kind occurs."""
    explicit: list[Found] = []
    someone_else = False
    for m, about_patient in _asserted(doc, {"SEX", "AGE_SEX"}):
        sex = _sex_in(doc, m)
        if not about_patient:
            someone_else = True
        elif sex is not None:
            explicit.append(Found(sex, doc.evidence(m.start, m.end)))
    if explicit:
        return explicit[0] if len({f.value for f in explicit}) == 1 else None
    if someone_else:
        return None
    # Pronouns could be anyone's once the text names a person who is not the patient.
    return _sex_from_pronouns(doc) if pronouns else _sex_from_italian_article(doc)


def _only_one_kind(doc: Doc, words: dict[str, list[str]], after: str | None = None) -> Found | None:
    """The sex whose words occur (followed by `after` when given), when only one does."""
    seen: dict[str, int] = {}
    for i, token in enumerate(doc.tokens):
        if after is not None and (i + 1 >= len(doc.tokens) or doc.tokens[i + 1].lower != after):
            continue
        for sex, forms in words.items():
            if token.lower in forms:
                seen.setdefault(sex, i)
    if len(seen) != 1:
        return None
    sex, i = seen.popitem()
    return Found(sex, doc.evidence(i, i + (2 if after else 1)))


def _sex_from_pronouns(doc: Doc) -> Found | None:
    return _only_one_kind(doc, load_table(TABLE).data["pronouns"])


def _sex_from_italian_article(doc: Doc) -> Found | None:
    """Italian marks the patient's sex on the article: "la paziente" is a woman."""
    return _only_one_kind(doc, load_table(TABLE).data["italian_articles"], after="paziente")
