"""Regular-expression pieces of PDF content-stream syntax (ISO 32000-1, 7.2 and 7.3)."""

from __future__ import annotations

DELIM = rb"\s/<>\[\]()%{}"  # white space and delimiters end a token
NUM = rb"[-+]?(?:\d+\.?\d*|\.\d+)"
# A literal string, with escapes and up to three levels of balanced parentheses.
STRING = rb"\((?:[^()\\]|\\.|\((?:[^()\\]|\\.|\((?:[^()\\]|\\.)*\))*\))*\)"
END = rb"(?![^" + DELIM + rb"])"
# A text object (BT ... ET) holds no image operators: skipped whole, strings and all.
TEXT_OBJECT = (
    rb"(?<![^" + DELIM + rb"])BT(?![^" + DELIM + rb"])(?>(?:[^()E%]++|" + STRING
    + rb"|%[^\r\n]*|E(?!T(?![^" + DELIM + rb"])))*)ET(?![^" + DELIM + rb"])"
)  # fmt: skip
