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
Prints a table, then every wrong answer; exits 1 when a figure drops below its floor in
`bench/floors.toml`.

    .venv/bin/python bench/eval_textmeta.py [--notes FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gate  # noqa: E402

from pipeline.textmeta import extract_fields  # noqa: E402

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


def wilson_low(correct: int, n: int, z: float = 1.96) -> float:
    """Lower bound of the Wilson score interval for correct/n."""
    if n == 0:
        return 0.0
    p = correct / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def same(field: str, answer, label) -> bool:
    if field == "temperature":
        return abs(float(answer) - float(label)) < 0.05
    return answer == label


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=Path, default=data_dir() / "notes" / "dev.jsonl")
    args = parser.parse_args()
    if not args.notes.exists():
        print(f"SKIP: {args.notes} not found (set PIPELINE_SHARED_DATA)")
        return 0
    rows = [json.loads(line) for line in args.notes.read_text().splitlines() if line.strip()]
    t0 = time.perf_counter()
    answers = [extract_fields(r["text"]) for r in rows]
    elapsed = time.perf_counter() - t0

    print(f"textmeta on {args.notes} ({len(rows)} notes, {elapsed * 1000:.0f} ms)\n")
    print(f"{'field':<24}{'answered':>9}{'correct':>8}{'precision':>10}{'low95':>7}"
          f"{'differs':>8}{'blank':>6}{'on-labelled':>12}{'labelled':>9}{'coverage':>9}"
          f"{'stated':>7}{'recall':>8}")  # fmt: skip
    wrong: list[str] = []
    figures: dict[str, float] = {}
    for field in LABELLED:
        answered = correct = differs = blank = labelled = covered = stated = stated_ok = 0
        for row, got in zip(rows, answers, strict=True):
            label = row["labels"].get(field)
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
    print(f"\nwrong answers ({len(wrong)}):")
    print("\n".join(wrong) if wrong else "  none")
    return gate.check("textmeta", figures)


if __name__ == "__main__":
    raise SystemExit(main())
