"""Labelled phrasings (tests/data/textmeta_cases.jsonl), shared by the tests and `make eval`.

One case a line: `id`, `set` ("fit" or "check"), `text`, `expect` (field -> value; null means
the text must not give one), `origin` (the test or the page it came from). The set of a
written case is fixed by a hash of its id (`split_of`), decided before the case is read, so
a case cannot be moved to the fit set because it fails; cases quoted or paraphrased from real
pages (`source` set) all go to the check set. Rules are written against the fit set only.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CASES = Path(__file__).resolve().parents[2] / "tests" / "data" / "textmeta_cases.jsonl"


@dataclass(frozen=True)
class Case:
    id: str
    set: str
    text: str
    expect: dict[str, Any]
    origin: str = ""
    source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def split_of(case_id: str) -> str:
    """A quarter of the written cases, by a hash of the id, are the check set."""
    return "check" if int(hashlib.sha1(case_id.encode()).hexdigest(), 16) % 4 == 0 else "fit"


def load_cases(path: Path = CASES) -> list[Case]:
    cases: list[Case] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        known = {"id", "set", "text", "expect", "origin", "source"}
        try:
            cases.append(
                Case(
                    row["id"], row["set"], row["text"], row["expect"], row.get("origin", ""),
                    row.get("source"), {k: v for k, v in row.items() if k not in known},
                )
            )  # fmt: skip
        except KeyError as err:
            raise ValueError(f"{path}:{number}: missing {err}") from None
    return cases


def same(field_name: str, answer: Any, expected: Any) -> bool:
    if field_name == "temperature" and answer is not None and expected is not None:
        return abs(float(answer) - float(expected)) < 0.05
    return answer == expected


def wilson_low(correct: int, n: int, z: float = 1.96) -> float:
    """Lower bound of the Wilson score interval for correct/n."""
    if n == 0:
        return 0.0
    p = correct / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)
