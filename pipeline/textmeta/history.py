"""The history at presentation: "4-day history of cough", "fever for 5 days".

The image of a note that tells the presentation is taken at the presentation, so the
history's length is its offset (offset.py uses this last, when nothing dates the image
itself). The wordings are HISTORY rows of rules/offset.json; a length counts only with a
symptom near it (80 characters before, 40 after, in its sentence), not when a ConText cue
makes it no history of the patient ("his wife had fever for 3 days", "may have a few days of
cough", "no fever for 2 days"), and not when its sentence then moves it back ("fever for two
days one week before").
"""

from __future__ import annotations

from .context import assert_targets
from .cues import drop_nested, sentence_has, sentences_with, statements
from .document import Doc
from .fields import Found
from .matcher import Match, load_table
from .values import read_days

TABLE = "offset"


def history_candidates(doc: Doc) -> list[tuple[Match, Found]]:
    symptoms = load_table(TABLE).find(doc, {"SYMPTOM"})
    earlier = load_table(TABLE).find(doc, {"TIME_BEFORE"})
    out: list[tuple[Match, Found]] = []
    history = statements(doc, TABLE, "HISTORY")
    about_patient = {
        item.target
        for item in assert_targets(doc, history)
        if not item.has("NEGATED_EXISTENCE", "HYPOTHETICAL", "OTHER_EXPERIENCER")
    }
    for m in history:
        if m not in about_patient:
            continue
        # "two-days fever (37.5 °C) one week before": not the history at presentation
        sentence = doc.tokens[m.start].sentence
        if any(t.start >= m.end and doc.tokens[t.start].sentence == sentence for t in earlier):
            continue
        s, e = doc.char_span(*doc.sentence_of(m.start))
        lo = max(s, doc.tokens[m.start].start - 80)
        hi = min(e, doc.tokens[m.end - 1].end + 40)
        near = any(
            lo <= doc.tokens[x.start].start and doc.tokens[x.end - 1].end <= hi for x in symptoms
        )
        days = read_days(doc, m.start, m.end)
        if near and days is not None:
            out.append((m, Found(days, doc.evidence(m.start, m.end))))
    return drop_nested(out)


def symptoms_dated_elsewhere(doc: Doc, history: list[tuple[Match, Found]]) -> bool:
    """Another sentence dates the symptoms themselves (not a presentation or a trip)."""
    spans = {doc.tokens[m.start].sentence for m, _ in history}
    dated = sentences_with(doc, TABLE, "DATE") | sentences_with(doc, TABLE, "DATE_MONTH")
    for sentence in dated - spans:
        first = doc.sentences[sentence][0]
        if sentence_has(doc, TABLE, "SYMPTOM", first) and not sentence_has(
            doc, TABLE, "PRESENTED", first
        ):
            return True
    return False


def presentation_history(doc: Doc) -> Found | None:
    """The longest acute history the text gives, when no other sentence dates the symptoms."""
    history = history_candidates(doc)
    if not load_table(TABLE).find(doc, {"CHRONIC"}):
        longest = load_table(TABLE).data["longest_acute_history"]
        history = [(m, f) for m, f in history if f.value <= longest]
    if not history or symptoms_dated_elsewhere(doc, history):
        return None
    # Several symptoms with their own durations: onset is the earliest one.
    return max((f for _, f in history), key=lambda f: f.value)
