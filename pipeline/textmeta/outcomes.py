"""Yes/no outcomes: survival, intubation, ICU, supplemental oxygen (with negations)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .fields import Found
from .text import (
    TIME_SPAN,
    about_other_person,
    is_hypothetical,
    is_negated,
    match_evidence,
    sentence_bounds,
    sentence_start_near,
)


@dataclass(frozen=True)
class Cue:
    """A phrase that states a value; `when_negated` is the value a negation in front gives."""

    pattern: re.Pattern[str]
    value: str
    when_negated: str | None


def _cue(regex: str, value: str, when_negated: str | None) -> Cue:
    return Cue(re.compile(regex, re.I), value, when_negated)


# Negated forms are listed first so that "did not require intubation" is read as one phrase.
INTUBATED = [
    _cue(r"\bnon-?intubated\b", "N", None),
    _cue(r"\bintubat(?:ed|ion)\b", "Y", "N"),
    _cue(r"(?<!invasive\s)(?<!invasive-)\bmechanical(?:ly)?\s+ventilat(?:ed|ion|or)\b", "Y", "N"),
    _cue(r"\b(?<!non-)(?<!non\s)invasive\s+(?:mechanical\s+)?ventilation\b", "Y", "N"),
    _cue(r"\b(?:on|to|with)\s+(?:a|the)\s+(?:mechanical\s+)?ventilator\b", "Y", "N"),
    _cue(r"\blung[-\s]protective\s+(?:mechanical\s+)?ventilation\b", "Y", "N"),
    _cue(r"\bintubat[oa]\b|\bintubazione\b|\bventilazione\s+meccanica\b|\bIOT\b", "Y", "N"),
]
WENT_ICU = [
    _cue(
        r"\b(?<!-)(?:[PN]?ICU|ITU|intensive[-\s]care[-\s]unit|critical\s+care\s+unit|"
        r"terapia\s+intensiva|rianimazione)\b|"
        # bare "intensive care" is a place only after a preposition, not in "(pulmonology,
        # intensive care)" naming a specialty
        r"\b(?:in|to|into|from|at)\s+(?:the\s+)?(?:intensive|critical)[-\s]care\b",
        "Y",
        "N",
    ),
]
SUPPLEMENTAL_O2 = [
    _cue(
        r"\b(?:supplement(?:al|ary|ed)|supplemental)\s+(?:oxygen|O2)\b|"
        r"\b(?:oxygen|O2)[\s-]+(?:therapy|supplementation|support|supply)\b|\boxygenotherapy\b|"
        r"\b(?:oxygen|O2)\s+(?:was|were)\s+(?:given|administered|started|delivered|provided|"
        r"supplied)\b|"
        r"\b(?:received|requir(?:e|es|ed|ing)|need(?:s|ed|ing)?|given|started\s+on|put\s+on|"
        r"placed\s+on|on|treated\s+with|administ(?:ration\s+of|ered)|with)\s+(?:[\w/.]+\s+){0,3}?"
        r"(?:oxygen|O2)\b(?!\s+(?:saturation|sat|level|tension|pressure|desaturation|uptake|"
        r"consumption|content|index|extraction))|"
        r"\bnasal\s+(?:cann?ula|prongs|catheter)\b|\b(?:nasal\s+)?high[-\s]flow\s+(?:nasal\s+)?"
        r"(?:oxygen|cann?ula)?\b|\bHFNC\b|\b(?:oxygen|O2)\s+inhalation\b|"
        r"\b(?:venturi|non-?rebreather|reservoir)\s+mask\b|\bventi-?mask\b|"
        # "O2 3 L/min", "oxygen at 2 l/min": a flow is only ever given
        r"\b(?:oxygen|O2)\s+(?:at\s+|of\s+|via\s+\w+\s+)?\d+(?:[.,]\d+)?\s*l(?:/|\s+per\s+)min\b|"
        r"\b\d+(?:[.,]\d+)?\s*l(?:/|\s+per\s+)min(?:ute)?\s+(?:of\s+)?(?:oxygen|O2)\b",
        "Y",
        "N",
    ),
    _cue(
        r"\bossigeno[-\s]?terapia\b|\bO2[-\s]?terapia\b|\bin\s+ossigeno\b|\bventuri\b|"
        r"\bcon\s+(?:O2|ossigeno)\s+(?:a\s+)?\d+(?:[.,]\d+)?\s*l(?:/|\s*al\s*)min\b|"
        r"\bossigeno\s+(?:in\s+maschera|con\s+occhialini)|\bocchialini\s+nasali\b|"
        r"\bsupporto\s+(?:di\s+)?(?:ossigeno|O2)\b",
        "Y",
        "N",
    ),
]
NON_INVASIVE_VENTILATION = _cue(
    r"\b(?:non-?\s?invasive|assisted|positive[-\s]pressure)\s+(?:\w+\s+)?ventilation\b|"
    r"\bNIV\b|\bC-?PAP\b|\bBi-?PAP\b|\bventilazione\s+non\s+invasiva\b|"
    r"\bventilatory\s+support\b",
    "Y",
    "N",
)
SLEEP_APNOEA = re.compile(r"\b(?:apn(?:o)?ea|OSAS?|home|domiciliar\w*|notturn\w*)\b", re.I)
# Leaving the ICU, the emergency department or a clinic says nothing about the outcome.
_NOT_FROM_ICU = (
    r"(?!\s+(?:from\s+)?(?:the\s+)?(?:ICU|ITU|intensive|critical|emergency|ED\b|ER\b|urgent|"
    r"clinic|outpatient|triage))"
)
DIED = _cue(
    r"\b(?:died|passed\s+away|succumbed|perished|death\s+of\s+the\s+patient|fatal\s+outcome|"
    r"(?:was|is|has\s+been|had)\s+deceased|deceased\s+(?:on|after|at|in|within)|"
    r"found\s+(?:dead|deceased)|could\s+not\s+be\s+(?:revived|resuscitated)|(?:progressed|led|leading|evolved)\s+to\s+(?:his\s+|her\s+)?death|"
    r"(?:patient|he|she|who)\s+(?:\w+\s+)?expired|"
    r"(?:patient|his|her)'?s?\s+death|deceduto|deceduta|exitus|è\s+morto|è\s+morta|decesso)\b",
    "N",
    None,
)
SURVIVED = _cue(
    r"\b(?:was|were|been|being|got|is|later)\s+(?:\w+\s+){0,2}?discharged\b" + _NOT_FROM_ICU + "|"
    r"\bdischarged\s+(?:home|from|after|on|to|with|in)\b" + _NOT_FROM_ICU + "|"
    r"\b(?:before|at|after|until)\s+(?:his\s+|her\s+|the\s+)?(?:hospital\s+)?discharge\b|"
    r"\b(?:patient|he|she)\s+(?:\w+\s+)?recovered\b(?!\s+from\s+(?:the\s+)?(?:surgery|"
    r"procedure|operation|an[a]?esthesia))|\b(?:full|complete|good|successful)\s+recovery\b|"
    r"\b(?:led|lead|leading)\s+to\s+(?:\w+\s+)?recovery\b|"
    r"\b(?:released|sent)\s+(?:to\s+)?home\b" + _NOT_FROM_ICU + "|"
    r"\breleased\s+from\s+(?:the\s+)?hospital\b|"
    r"\b(?:and|hence|thus|then|subsequently|finally)\s+discharged\b" + _NOT_FROM_ICU + "|"
    r"\bsurvived\b|\b(?:is|was|remains|remained)\s+"
    r"alive\b|\bdimess[oa]\b|\bguarit[oa]\b",
    "Y",
    None,
)
# Negation after the phrase: "intubation was not required", "ICU admission was avoided".
_GAP = r"^(?:(?!\b(?:and|but|then)\b)[\w\s-]){0,25}?"  # not across "and was not intubated"
NEGATED_AFTER = re.compile(
    _GAP + r"\b(?:was|were|is|has\s+been|had\s+been|did)\s+(?:not|never)\s+"
    r"(?:\w+\s+)?(?:required|needed|necessary|performed|indicated|admitted|intubated)\b|"
    + _GAP
    + r"\b(?:was|were)\s+(?:avoided|unnecessary|refused|declined)\b|"
    + _GAP
    + r"\bnon\s+(?:è|fu|è\s+stat[oa])\s+necessari[oa]\b",
    re.I,
)
# Only weighed, not done: "intubation was considered", "ICU admission was proposed".
WEIGHED_AFTER = re.compile(
    _GAP + r"\b(?:was|were|is|had\s+been)\s+(?:\w+\s+)?(?:considered|discussed|planned|proposed|"
    r"contemplated|deferred|postponed|recommended|offered|suggested|evaluated)\b",
    re.I,
)
# "Hopefully he does not crash overnight and end up intubated": a wish, not an event.
HOPE = re.compile(r"\b(?:hope(?:fully|d|s)?|hoping|wish(?:ed)?|fear(?:ed)?|worr(?:y|ied))\b", re.I)
# "intubated via a chest tube", "chest intubation": a drain in the pleura, not the airway.
CHEST_TUBE = re.compile(
    r"\bchest\s+(?:tube|drain|intubation)|\bthoracostomy|\bpleural\s+drain", re.I
)
# "He gradually recovered. However, on hospital day 12, he developed a fever": not the end.
RELAPSE_AFTER = re.compile(
    r"\b(?:however|but|then|later|subsequently)\b[^.]{0,80}\b(?:developed|worsen\w*|"
    r"deteriorat\w*|relaps\w*|recurr\w*)\b",
    re.I,
)
# "from presentation to complete recovery, CT scans show ...": a span of time in general.
SPAN_TO_RECOVERY = re.compile(r"\bfrom\b[^.;]{0,60}\bto\s+$", re.I)
# "... mechanical ventilation if there is no improvement": a condition, not an event.
CONDITION_AFTER = re.compile(r"[^.;:,]{0,40}?\b(?:if|unless|in\s+case)\b", re.I)
# Oxygen a patient had before this illness: "COPD on home oxygen", "long-term oxygen therapy".
LONG_TERM_OXYGEN = re.compile(
    r"\b(?:home|long[-\s]term|domiciliary|chronic|nocturnal|LTOT|ossigeno[-\s]?terapia\s+"
    r"domiciliare)\b",
    re.I,
)
# The unit named as a kind of patient or place, not as where this patient went: "ICU
# patients", "ICU beds", "intensive care staff".
UNIT_AS_KIND = re.compile(
    r"\s+(?:patients|beds?|capacity|staff|physicians|doctors|nurses|teams?|settings?|"
    r"mortality|population|cohorts?|admissions\s+(?:rates?|increased))\b",
    re.I,
)
MEASUREMENT = re.compile(
    r"\b(?:saturation|SpO2|SaO2|PaO2|pO2|partial\s+pressure|sat|mm\s?Hg|kPa)\b|%", re.I
)
WITHOUT_RIGHT_BEFORE = re.compile(r"\b(?:without|senza)\s+(?:any\s+)?$", re.I)
# "Admitted to ICU with necrotizing fasciitis": the stay's stated reason; an ICU stay for a
# condition with no respiratory or infectious word in it belongs to another illness ("septic
# shock" alone does not say which: left unsaid rather than guessed).
ICU_REASON = re.compile(
    r"\s*(?:with|for|because\s+of|due\s+to|after)\s+(?P<reason>[^.;:]{3,100})", re.I
)
RESPIRATORY = re.compile(
    r"\b(?:respirat\w*|pneumon\w*|COVID\w*|SARS|coronavirus|nCoV|hypox\w*|ARDS|dyspn\w+|"
    r"breath\w*|oxygen|O2|ventilat\w*|intubat\w*|desaturat\w*|lungs?|pulmonar\w*|"
    r"distress|infect\w*|fever|polmonit\w*|insufficienza\s+respiratoria)\b",
    re.I,
)
# A test that ruled COVID-19 out: the admission it belongs to is not the COVID illness.
COVID_NEGATIVE = re.compile(
    r"\bnegative\s+(?:for\s+|on\s+)?(?:the\s+)?(?:COVID|SARS|2019-nCoV|coronavirus)|"
    r"\b(?:COVID-19|SARS-CoV-2|nCoV)\s+(?:\w+\s+){0,3}?(?:was|were|came\s+back)\s+negative\b",
    re.I,
)
COVID_POSITIVE = re.compile(
    r"\bpositive\s+(?:for\s+|on\s+)?(?:the\s+)?(?:COVID|SARS|2019-nCoV|coronavirus|RT-?PCR)|"
    r"\b(?:COVID-19|SARS-CoV-2|nCoV)\s+(?:\w+\s+){0,3}?(?:was|were|came\s+back)\s+positive\b|"
    r"\b(?:confirmed|diagnosed\s+with)\s+(?:\w+\s+)?(?:COVID|SARS-CoV-2)|"
    r"\bresult\s+was\s+positive\b",
    re.I,
)
# A discharge from a stay before this illness: "had been discharged 10 days before knee
# surgery", "recently discharged after a hip fracture".
EARLIER_STAY = re.compile(
    r"\b(?:had\s+been|recently|previously)\s+(?:\w+\s+)?discharged\b|"
    r"\bdischarged\s+(?:\w+\s+){0,4}?" + TIME_SPAN + r"\s+(?:before|earlier|prior|ago)\b",
    re.I,
)
# The sentence tells of a visit before this one: "He had been seen at an urgent care two days
# prior ... and was discharged".
EARLIER_VISIT = re.compile(
    r"\bhad\s+(?:been\s+(?:\w+\s+)?(?:seen|taken|treated|evaluated|managed|admitted|"
    r"hospitali[sz]ed)|visited|presented|attended|gone)\b|\b(?:prior|previous)\s+"
    r"(?:visit|admission|hospitali[sz]ation|episode)\b|"
    # "severe COVID-19 4 weeks ago for which he was treated ... and discharged"
    r"\b" + TIME_SPAN + r"\s+(?:ago|earlier|before|prior)\b",
    re.I,
)
READMITTED = re.compile(
    r"\b(?:re-?admitted|readmission|re-?presented|presented\s+again|returned\s+to\s+the\s+"
    r"(?:ED|emergency|hospital)|came\s+back|again\s+to\s+the\s+(?:ED|emergency)|"
    r"brought\s+(?:in\s+)?(?:again|back)|(?:admitted|seen|presented|brought\s+in)\s+again)\b|"
    # "sent home ... Six days later, the patient presented to the ED"
    r"\b(?:later|afterwards|subsequently)\b[^.;]{0,40}\b(?:presented|admitted|hospitali[sz]ed|"
    r"returned)\b",
    re.I,
)


def _condition_not_need(text: str, pos: int) -> bool:
    """'SpO2 88% without supplemental oxygen', 'discharged without oxygen': the condition of a
    measurement or of a moment, not a statement that oxygen was never needed."""
    before = text[sentence_start_near(text, pos, 80) : pos]
    return MEASUREMENT.search(before) is not None or WITHOUT_RIGHT_BEFORE.search(before) is not None


def _answers(text: str, cues: list[Cue]) -> list[tuple[int, Found]]:
    """Every cue match that is about the patient and asserted, with the value it gives."""
    taken: list[tuple[int, int]] = []
    out: list[tuple[int, Found]] = []
    for cue in cues:
        for m in cue.pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            if about_other_person(text, m.start()) or is_hypothetical(text, m.start()):
                continue
            if HOPE.search(text, sentence_start_near(text, m.start()), m.start()):
                continue
            if WEIGHED_AFTER.match(text[m.end() : m.end() + 80]) or CONDITION_AFTER.match(
                text, m.end(), m.end() + 80
            ):
                continue
            value = cue.value
            if is_negated(text, m.start()) or NEGATED_AFTER.match(text[m.end() : m.end() + 80]):
                if cue.when_negated is None or (
                    cue in SUPPLEMENTAL_O2 and _condition_not_need(text, m.start())
                ):
                    continue
                value = cue.when_negated
            taken.append((m.start(), m.end()))
            out.append((m.start(), Found(value, match_evidence(text, m))))
    return sorted(out, key=lambda pair: pair[0])


def _yes_wins(answers: list[tuple[int, Found]]) -> Found | None:
    """Any asserted event means it happened; only negations mean it did not."""
    for _, found in answers:
        if found.value == "Y":
            return found
    return answers[0][1] if answers else None


def find_intubated(text: str) -> Found | None:
    return _yes_wins(
        [
            (pos, found)
            for pos, found in _answers(text, INTUBATED)
            if not CHEST_TUBE.search(text, *sentence_bounds(text, pos))
        ]
    )


def find_went_icu(text: str) -> Found | None:
    answers = [
        (pos, found)
        for pos, found in _answers(text, WENT_ICU)
        if found.value != "Y"
        or not (
            _icu_for_another_condition(text, found.evidence.end)
            or UNIT_AS_KIND.match(text, found.evidence.end)
        )
    ]
    return _yes_wins(answers)


def _icu_for_another_condition(text: str, end: int) -> bool:
    m = ICU_REASON.match(text, end)
    return m is not None and not RESPIRATORY.search(m.group("reason"))


def _before_covid_illness(text: str, pos: int) -> bool:
    """Earlier in the text COVID-19 was tested and ruled out, and nothing before `pos` says it
    was found: a discharge here ends another admission, not the COVID illness."""
    # "RT-PCR was negative and he was discharged": a recovery test, not a ruling-out
    before = text[: sentence_start_near(text, pos)]
    return COVID_NEGATIVE.search(before) is not None and not COVID_POSITIVE.search(before)


def find_supplemental_o2(text: str) -> Found | None:
    answers = [
        (pos, found)
        for pos, found in _answers(text, SUPPLEMENTAL_O2)
        if not LONG_TERM_OXYGEN.search(
            text, sentence_start_near(text, found.evidence.start, 20), found.evidence.end
        )
    ]
    return _yes_wins(answers)


def had_ventilatory_support(text: str) -> bool:
    """The patient was ventilated without a tube (NIV, CPAP), not for sleep apnoea."""
    for _, found in _answers(text, [NON_INVASIVE_VENTILATION]):
        around = text[max(0, found.evidence.start - 40) : found.evidence.end + 40]
        if found.value == "Y" and not SLEEP_APNOEA.search(around):
            return True
    return False


def find_survival(text: str) -> Found | None:
    """N on a death; else Y on a discharge or recovery not followed by a readmission and not
    ending an admission in which COVID-19 was ruled out."""
    deaths = _answers(text, [DIED])
    if deaths:
        return deaths[0][1]
    for pos, found in _answers(text, [SURVIVED]):
        if READMITTED.search(text, pos) or _before_covid_illness(text, pos):
            continue
        if SPAN_TO_RECOVERY.search(text[sentence_start_near(text, pos) : pos]):
            continue
        if "recover" in found.evidence.text.lower() and RELAPSE_AFTER.search(
            text, found.evidence.end, found.evidence.end + 250
        ):
            continue
        if EARLIER_STAY.search(text[max(0, pos - 40) : found.evidence.end + 60]):
            continue
        if EARLIER_VISIT.search(text, sentence_start_near(text, pos, 150), pos):
            continue
        return found
    return None
