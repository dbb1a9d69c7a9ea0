"""Finding (diagnosis) in the collection's names, from asserted mentions only; and
RT_PCR_positive, from a reported SARS-CoV-2 test result.

The names, the phrases that are no diagnosis ("COVID-19 pandemic") and the cues that leave a
mention unasserted ("suspected", "history of") are data (rules/finding.json), with the shared
negation and other-experiencer cues of rules/context.json.
"""

from __future__ import annotations

from .context import assert_targets
from .document import Doc
from .fields import Found
from .matcher import Match, load_table, longest_first

TABLE = "finding"
NOT_ABOUT_PATIENT = ("NEGATED_EXISTENCE", "OTHER_EXPERIENCER", "NOT_ASSERTED")


def _kept(doc: Doc, category: str) -> list[Match]:
    found = longest_first(load_table(TABLE).find(doc, {category, "BLOCK"}))
    return [m for m in found if m.category == category]


def find_finding(doc: Doc) -> Found | None:
    """The one pathogen the text asserts (a syndrome like ARDS only when no pathogen is)."""
    table = load_table(TABLE)
    labels = table.labels(doc)
    found: dict[str, Found] = {}
    for item in assert_targets(doc, _kept(doc, "FINDING"), ("context", TABLE)):
        if item.has(*NOT_ABOUT_PATIENT):
            continue
        t = item.target
        name = labels[t.start]
        if name is not None:
            found.setdefault(name, Found(name, doc.evidence(t.start, t.end)))
    pathogens = {n: f for n, f in found.items() if n not in table.data["syndromes"]}
    chosen = pathogens or found
    return next(iter(chosen.values())) if len(chosen) == 1 else None


def find_rt_pcr(doc: Doc, covid_text: bool) -> Found | None:
    """Y when a test of this patient was positive for SARS-CoV-2; N when only negatives.

    `covid_text`: the text's finding is COVID-19, so a result without a pathogen named
    ("PCR positive") is read as a SARS-CoV-2 result.
    """
    table = load_table(TABLE)
    labels = table.labels(doc)
    results = longest_first(table.find(doc, {"RESULT_POSITIVE", "RESULT_NEGATIVE"}))
    found: dict[str, list[Found]] = {"Y": [], "N": []}
    for item in assert_targets(doc, _kept(doc, "TEST"), ("context",)):
        t = item.target
        s, e = doc.sentence_of(t.start)
        if item.has("OTHER_EXPERIENCER") or table.words(doc, s, e, "OTHER_PATHOGEN"):
            continue
        if not (covid_text or "COVID-19" in labels[s:e]):
            continue
        for category, value in (("RESULT_POSITIVE", "Y"), ("RESULT_NEGATIVE", "N")):
            hit = next((r for r in results if r.category == category and s <= r.start < e), None)
            if hit is not None:
                start, end = min(t.start, hit.start), max(t.end, hit.end)
                found[value].append(Found(value, doc.evidence(start, end)))
    return (found["Y"] or found["N"] or [None])[0]
