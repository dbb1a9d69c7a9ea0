"""Score pipeline.textmeta on the curators' labels in ../shared/data/notes/dev.jsonl.

Per field: precision among non-null answers (an answer where the curators left the field
blank counts as wrong; "differs" and "blank" split the wrong answers), coverage (share of
labelled notes that get an answer) and, for age and sex, recall where the note states them.
"Stated" is decided by a check independent of the extractor: for age, the labelled number
within 25 characters of an age word (year, y/o, aged, anni, ...); for sex, a word of the
labelled sex (man/woman/male/female/he/she/his/her/uomo/donna/...) anywhere in the note.
"low95" is the Wilson 95% lower bound of the precision: with a few dozen answers a field's
precision on a larger held-out set can sit that low without anything being wrong with the
rules. "labelled" precision leaves out answers where the curators left the field blank (a
blank is sometimes an omission: the text states the value and the row does not have it).
Offset has two clocks (days since symptom onset, days since admission): the table gives
each clock's precision, "offset_either" (the curators' value is one of the two clocks, among
notes where either is answered), and the primary `offset` under each convention of
configs/pipeline.toml, with a group-wise cross-validated estimate for choosing the convention
on these notes (folds by patient: a convention is chosen on the other folds, scored on this).
Offset recall where stated counts notes whose labelled (positive) offset the text states, by a
check apart from the extractor: the count of days, weeks or hours near its unit, or two
calendar dates that many days apart; a label of 0 has no such check.

Then the labelled phrasings of tests/data/textmeta_cases.jsonl: the fit set (rules are
written against it) and the check set (never tuned on), side by side with Wilson bounds.

Prints the tables, then every wrong answer; exits 1 when a figure drops below its floor in
`bench/floors.toml`.

    .venv/bin/python bench/eval_textmeta.py [--notes FILE] [--cases FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gate  # noqa: E402

from pipeline.textmeta import extract_fields  # noqa: E402
from pipeline.textmeta.cases import CASES, load_cases, same, wilson_low  # noqa: E402
from pipeline.textmeta.fields import CONVENTIONS  # noqa: E402

LABELLED = ("age", "sex", "offset", "survival", "intubated", "went_icu",
            "needed_supplemental_O2", "temperature")  # fmt: skip
AGE_WORD = re.compile(r"year|yr|y/o|\byo\b|old|aged?\b|anni|enne", re.I)
SEX_WORDS = {
    "M": re.compile(r"\b(?:man|male|boy|gentleman|businessman|he|his|him|uomo|maschi\w*)\b", re.I),
    "F": re.compile(r"\b(?:woman|female|girl|lady|she|her|donna|femmin\w*)\b", re.I),
}


def data_dir() -> Path:
    env = os.environ.get("PIPELINE_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


def age_stated(text: str, age: int) -> bool:
    for m in re.finditer(rf"(?<!\d){age}(?!\d)", text):
        if AGE_WORD.search(text[max(0, m.start() - 25) : m.end() + 25]):
            return True
    return False


def sex_stated(text: str, sex: str) -> bool:
    return bool(SEX_WORDS[sex].search(text))


COUNT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
               "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
               "seventeen", "eighteen", "nineteen", "twenty"]  # fmt: skip
UNIT_DAYS = ((re.compile(r"days?|giorn", re.I), 1), (re.compile(r"weeks?|settiman", re.I), 7),
             (re.compile(r"hours?|hrs?|\bh\b", re.I), 1 / 24))  # fmt: skip
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DATE = re.compile(r"\b(?:(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([A-Za-z]{3})[a-z]*|"
                  r"([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?)\b")  # fmt: skip


def offset_stated(text: str, days: int) -> bool:
    """A positive offset the note states, checked apart from the extractor: the number of
    days, weeks or hours (in digits or words) within 25 characters of its unit, or two
    calendar dates that many days apart."""
    if days <= 0:
        return False
    for unit, size in UNIT_DAYS:
        count = days / size
        if count != int(count):
            continue
        count = int(count)
        forms = [str(count)] + ([COUNT_WORDS[count]] if count < len(COUNT_WORDS) else [])
        for form in forms:
            for m in re.finditer(rf"(?<![\w.]){form}(?![\w.])", text, re.I):
                if unit.search(text[max(0, m.start() - 25) : m.end() + 25]):
                    return True
    return days in _date_gaps(text)


def _date_gaps(text: str) -> set[int]:
    from datetime import date

    dates = set()
    for m in DATE.finditer(text):
        day, month = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        if month.lower() in MONTHS and 1 <= int(day) <= 31:
            try:
                dates.add(date(2020, MONTHS.index(month.lower()) + 1, int(day)))
            except ValueError:
                continue
    return {abs((a - b).days) for a in dates for b in dates}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=Path, default=data_dir() / "notes" / "dev.jsonl")
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--show-check", action="store_true",
                        help="list the check set's misses too (not while writing rules)")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    if args.notes.exists():
        figures.update(evaluate_notes(args.notes))
    else:
        print(f"SKIP dev notes: {args.notes} not found (set PIPELINE_SHARED_DATA)")
    figures.update(evaluate_cases(args.cases, show_check=args.show_check))
    return gate.check("textmeta", figures, only_reported=not args.notes.exists())


def evaluate_notes(path: Path) -> dict[str, float]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    t0 = time.perf_counter()
    answers = [extract_fields(r["text"]) for r in rows]
    elapsed = time.perf_counter() - t0
    print(f"textmeta on {path} ({len(rows)} notes, {elapsed * 1000:.0f} ms)\n")
    print(f"{'field':<24}{'answered':>9}{'correct':>8}{'precision':>10}{'low95':>7}"
          f"{'differs':>8}{'blank':>6}{'on-labelled':>12}{'labelled':>9}{'coverage':>9}"
          f"{'stated':>7}{'recall':>8}")  # fmt: skip
    wrong: list[str] = []
    figures: dict[str, float] = {}
    clocks = ("offset_since_onset", "offset_since_admission")
    for field in (*LABELLED, *clocks):
        label_of = "offset" if field in clocks else field
        answered = correct = differs = blank = labelled = covered = stated = stated_ok = 0
        for row, got in zip(rows, answers, strict=True):
            label = row["labels"].get(label_of)
            answer = got.values[field]
            labelled += label is not None
            covered += label is not None and answer is not None
            if field in ("age", "sex") and label is not None:
                is_stated = (age_stated if field == "age" else sex_stated)(row["text"], label)
                stated += is_stated
                stated_ok += is_stated and answer is not None and same(field, answer, label)
            if answer is None:
                continue
            answered += 1
            if label is not None and same(field, answer, label):
                correct += 1
            else:
                differs += label is not None
                blank += label is None
                ev = got.evidence[field].text
                if field not in clocks:
                    wrong.append(f"  {row['id']:<10} {field:<23} answer={answer!r:<8} "
                                 f"label={label!r:<6} evidence={ev!r}")  # fmt: skip
        if answered:
            figures[f"{field}_precision"] = correct / answered
        if stated:
            figures[f"{field}_recall_stated"] = stated_ok / stated
        if labelled:
            figures[f"{field}_coverage"] = covered / labelled
        precision = f"{correct / answered:.1%}" if answered else "-"
        low = f"{wilson_low(correct, answered):.0%}" if answered else "-"
        on_labelled = answered - blank
        labelled_precision = f"{correct / on_labelled:.1%}" if on_labelled else "-"
        coverage = f"{covered / labelled:.1%}" if labelled else "-"
        recall = f"{stated_ok / stated:.1%}" if stated else ""
        stated_s = str(stated) if field in ("age", "sex") else ""
        print(f"{field:<24}{answered:>9}{correct:>8}{precision:>10}{low:>7}{differs:>8}"
              f"{blank:>6}{labelled_precision:>12}{labelled:>9}{coverage:>9}{stated_s:>7}"
              f"{recall:>8}")  # fmt: skip
    figures.update(_offset_clocks(rows, answers))
    print(f"\nwrong answers ({len(wrong)}):")
    print("\n".join(wrong) if wrong else "  none")
    return figures


def _offset_clocks(rows: list[dict], answers: list) -> dict[str, float]:
    """Either clock, each convention's primary offset, and the convention chosen by
    group-wise cross-validation (5 folds of patients)."""
    figures: dict[str, float] = {}
    either = either_ok = labelled = 0
    for row, got in zip(rows, answers, strict=True):
        label = row["labels"].get("offset")
        labelled += label is not None
        values = {got.values["offset_since_onset"], got.values["offset_since_admission"]} - {None}
        if values:
            either += 1
            either_ok += label in values
    print(f"\noffset, either clock: {either_ok}/{either} = {either_ok / max(either, 1):.1%} "
          f"(low95 {wilson_low(either_ok, either):.0%}), coverage {either / len(rows):.1%} "
          f"of notes")  # fmt: skip
    figures["offset_either_precision"] = either_ok / max(either, 1)
    figures["offset_either_coverage"] = either / len(rows)
    stated = [
        label in {got.values["offset_since_onset"], got.values["offset_since_admission"]}
        for row, got in zip(rows, answers, strict=True)
        if (label := row["labels"].get("offset")) is not None and offset_stated(row["text"], label)
    ]
    if stated:
        print(f"  recall where a positive offset is stated (either clock): {sum(stated)}/"
              f"{len(stated)} = {sum(stated) / len(stated):.1%}")  # fmt: skip
        figures["offset_either_recall_stated"] = sum(stated) / len(stated)
    # primary offset under each convention, per note: (group, correct, answered)
    per_convention: dict[str, list[tuple[str, int, int]]] = {}
    for convention in CONVENTIONS:
        outcome = []
        for row in rows:
            answer = extract_fields(row["text"], convention=convention).values["offset"]
            label = row["labels"].get("offset")
            outcome.append((_group(row), int(answer is not None and answer == label),
                            int(answer is not None)))  # fmt: skip
        per_convention[convention] = outcome
        correct, answered = sum(o[1] for o in outcome), sum(o[2] for o in outcome)
        print(f"  convention {convention:<10} primary offset {correct}/{answered} = "
              f"{correct / max(answered, 1):.1%} (low95 {wilson_low(correct, answered):.0%})")
    groups = sorted({o[0] for o in per_convention[CONVENTIONS[0]]})
    fold_of = {g: i % 5 for i, g in enumerate(groups)}
    cv_correct = cv_answered = 0
    chosen: dict[str, int] = defaultdict(int)
    for fold in range(5):
        def score(convention: str, inside: bool, fold: int = fold) -> tuple[float, int]:
            picked = [o for o in per_convention[convention] if (fold_of[o[0]] == fold) == inside]
            correct, answered = sum(o[1] for o in picked), sum(o[2] for o in picked)
            return correct - 3 * (answered - correct), answered

        best = max(CONVENTIONS, key=lambda c: score(c, inside=False))
        chosen[best] += 1
        held = [o for o in per_convention[best] if fold_of[o[0]] == fold]
        cv_correct += sum(o[1] for o in held)
        cv_answered += sum(o[2] for o in held)
    print(f"  group-wise 5-fold CV (convention chosen per fold: {dict(chosen)}): primary offset "
          f"{cv_correct}/{cv_answered} = {cv_correct / max(cv_answered, 1):.1%}")
    figures["offset_cv_precision"] = cv_correct / max(cv_answered, 1)
    return figures


def _group(row: dict) -> str:
    """The patient of a dev note ("p13-19" -> "p13"): no patient spans two folds."""
    return row["id"].split("-")[0]


def evaluate_cases(path: Path, *, show_check: bool = False) -> dict[str, float]:
    """Fit and check sets of the labelled phrasings, side by side."""
    cases = load_cases(path)
    counts = {name: [0, 0] for name in ("fit", "check", "check, real excerpts")}
    misses: dict[str, list[str]] = {"fit": [], "check": []}
    for case in cases:
        got = extract_fields(case.text).values
        for field, expected in case.expect.items():
            ok = same(field, got.get(field), expected)
            for name in (case.set, "check, real excerpts") if case.source else (case.set,):
                counts[name][0] += ok
                counts[name][1] += 1
            if not ok:
                misses[case.set].append(f"  {case.id:<48} {field:<22} answer={got.get(field)!r} "
                                        f"expected={expected!r}")  # fmt: skip
    print(f"\nlabelled phrasings ({path.name}): expectations met")
    figures: dict[str, float] = {}
    for name, (ok, n) in counts.items():
        print(f"  {name:<22} {ok}/{n} = {ok / max(n, 1):.1%} (low95 {wilson_low(ok, n):.0%})")
        if name in ("fit", "check"):
            figures[f"cases_{name}_accuracy"] = ok / max(n, 1)
    for name in ("fit", "check") if show_check else ("fit",):
        if misses[name]:
            print(f"  missed in {name}:")
            print("\n".join(misses[name]))
    return figures


if __name__ == "__main__":
    raise SystemExit(main())
