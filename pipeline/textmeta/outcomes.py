"""Yes/no outcomes: survival, intubation, ICU, supplemental oxygen.

The cues are data (rules/outcomes.json for the targets, rules/context.json for negation,
hypotheticals, other people and history); this module says only how a field weighs them:
any asserted event means it happened, only negations mean it did not.
"""

from __future__ import annotations

from .context import Assertion, assert_targets, find_targets
from .document import Doc
from .fields import Found
from .matcher import Match, load_table

TABLE = "outcomes"


def _statements(doc: Doc, categories: set[str]) -> list[tuple[Assertion, str]]:
    """Asserted target matches about the patient, with the value each states."""
    targets = [t for t in _targets(doc) if t.category in categories]
    out: list[tuple[Assertion, str]] = []
    for item in assert_targets(doc, targets):
        meta = item.target.meta
        if item.has("OTHER_EXPERIENCER", "HYPOTHETICAL", "HISTORICAL", "CONDITION"):
            continue
        value = meta.get("value")
        if item.has("NEGATED_EXISTENCE"):
            # "SpO2 88% without supplemental oxygen" is a measurement's condition, not a no
            if item.has("MEASUREMENT"):
                continue
            value = meta.get("when_negated")
        if value is not None:
            out.append((item, value))
    return out


def _targets(doc: Doc) -> list[Match]:
    cached = doc.__dict__.get("_outcome_targets")
    if cached is None:
        cached = [t for t in find_targets(doc, TABLE) if t.category != "BLOCK"]
        doc.__dict__["_outcome_targets"] = cached
    return cached


def _yes_wins(doc: Doc, found: list[tuple[Assertion, str]]) -> Found | None:
    if not found:
        return None
    item, value = next(((i, v) for i, v in found if v == "Y"), found[0])
    return Found(value, doc.evidence(item.target.start, item.target.end))


def find_intubated(doc: Doc) -> Found | None:
    # "intubated via a chest tube": a drain in the pleura, not the airway
    drained = {doc.tokens[t.start].sentence for t in _targets(doc) if t.category == "CHEST_TUBE"}
    found = [
        (item, value)
        for item, value in _statements(doc, {"INTUBATION"})
        if doc.tokens[item.target.start].sentence not in drained
    ]
    return _yes_wins(doc, found)


def find_went_icu(doc: Doc) -> Found | None:
    found = [
        (item, value)
        for item, value in _statements(doc, {"ICU"})
        if value != "Y" or not _icu_for_another_condition(doc, item.target.end)
    ]
    return _yes_wins(doc, found)


def _icu_for_another_condition(doc: Doc, end: int) -> bool:
    """"Admitted to the ICU with a ruptured aneurysm": a stated reason with no respiratory or
    infectious word belongs to another illness."""
    s_end = doc.sentence_of(end - 1)[1]
    if end >= s_end or doc.tokens[end].lower not in ("with", "for", "because", "due", "after"):
        return False
    prefixes = tuple(load_table(TABLE).data["respiratory_reason_prefixes"])
    return not any(t.lower.startswith(prefixes) for t in doc.tokens[end + 1 : s_end])


def had_ventilatory_support(doc: Doc) -> bool:
    """The patient was ventilated without a tube (NIV, CPAP), not for sleep apnoea at home."""
    return bool(_statements(doc, {"NIV"}))


def find_supplemental_o2(doc: Doc) -> Found | None:
    found = [
        (item, value)
        for item, value in _statements(doc, {"O2", "O2_BARE"})
        if item.target.category == "O2" or item.has("ADMINISTERED")
    ]
    return _yes_wins(doc, found)


def find_survival(doc: Doc) -> Found | None:
    """N on a death; else Y on a discharge or recovery not followed by a readmission or a
    relapse, and not ending an admission in which COVID-19 was ruled out."""
    deaths = _statements(doc, {"DEATH"})
    if deaths:
        return _yes_wins(doc, deaths)
    events = _targets(doc)
    for item, value in _statements(doc, {"DISCHARGE", "RECOVERY"}):
        t = item.target
        later = [e for e in events if e.start >= t.end]
        if any(e.category == "READMISSION" for e in later):
            continue
        if t.category == "RECOVERY" and any(
            e.category == "RELAPSE" and e.start - t.end < 45 for e in later
        ):
            continue
        if _covid_ruled_out_before(doc, events, t.start):
            continue
        return Found(value, doc.evidence(t.start, t.end))
    return None


def _covid_ruled_out_before(doc: Doc, events: list[Match], pos: int) -> bool:
    """Before this sentence COVID-19 was tested and ruled out, and never found."""
    start = doc.sentence_of(pos)[0]
    before = {e.category for e in events if e.end <= start}
    return "COVID_NEGATIVE" in before and "COVID_POSITIVE" not in before
