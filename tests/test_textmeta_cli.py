"""text-meta command: output shape, bad lines, stdin; evidence spans match the text."""

import argparse
import io
import json

import pytest

from pipeline.textmeta import FIELDS, extract_fields
from pipeline.textmeta.cli import register

SAMPLES = [
    "On January 22, 2020, a 65-year-old man was admitted. He received supplemental oxygen.",
    "Woman, 71 years old, not intubated; fever 38.5 °C. Posteroanterior chest radiograph.",
    "The patient died on day 36 after intubation in the ICU; RT-PCR positive for SARS-CoV-2.",
    "Uomo di 43 anni, febbre da 5 giorni, 101.5 F, dimesso.",
    "(A) Hospital day 1 (B) Hospital day 14",
]


def run_cli(argv, stdin_text=None, monkeypatch=None, capsys=None):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    if stdin_text is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin_text))
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_output_shape(tmp_path, monkeypatch, capsys):
    path = tmp_path / "notes.jsonl"
    lines = [json.dumps({"id": f"n{i}", "text": t, "source": "x"}) for i, t in enumerate(SAMPLES)]
    path.write_text("\n".join(lines) + "\n")
    code, out, err = run_cli(
        ["text-meta", "--jsonl", str(path), "--json"], None, monkeypatch, capsys
    )
    assert code == 0 and err == ""
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == [f"n{i}" for i in range(len(SAMPLES))]
    for row, text in zip(rows, SAMPLES, strict=True):
        assert set(row) == {"id", *FIELDS, "evidence"}
        stated = {k for k in FIELDS if row[k] is not None}
        assert set(row["evidence"]) == stated
        for ev in row["evidence"].values():
            assert text[ev["start"] : ev["end"]] == ev["text"]
    assert rows[0]["age"] == 65 and rows[0]["needed_supplemental_O2"] == "Y"
    assert rows[3]["temperature"] == 38.6


def test_bad_lines_are_reported_and_the_rest_processed(monkeypatch, capsys):
    stdin = "\n".join([
        json.dumps({"id": "ok1", "text": "A 55-year-old woman."}),
        "{not json",
        json.dumps({"id": "no-text"}),
        json.dumps(["a", "list"]),
        "",
        json.dumps({"id": "ok2", "text": "65 y/o M"}),
    ])  # fmt: skip
    code, out, err = run_cli(["text-meta", "--jsonl", "-", "--json"], stdin, monkeypatch, capsys)
    assert code == 1
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["ok1", "ok2"]
    errors = err.strip().splitlines()
    assert len(errors) == 3
    assert errors[0].startswith("<stdin>:2: ") and "not JSON" in errors[0]
    assert errors[1].startswith("<stdin>:3: ") and "text" in errors[1]
    assert errors[2].startswith("<stdin>:4: ")


def test_missing_file(tmp_path, monkeypatch, capsys):
    code, out, err = run_cli(
        ["text-meta", "--jsonl", str(tmp_path / "nope.jsonl"), "--json"], None, monkeypatch, capsys
    )
    assert code == 1 and out == "" and "nope.jsonl" in err


def test_plain_output_without_json(monkeypatch, capsys):
    stdin = json.dumps({"id": "a", "text": "A 55-year-old woman."}) + "\n"
    code, out, _ = run_cli(["text-meta", "--jsonl", "-"], stdin, monkeypatch, capsys)
    assert code == 0 and out.startswith("a: age=55 sex=F")


@pytest.mark.parametrize("text", SAMPLES)
def test_evidence_spans_match_the_text(text):
    fields = extract_fields(text)
    assert set(fields.evidence) == {k for k, v in fields.values.items() if v is not None}
    for ev in fields.evidence.values():
        assert text[ev.start : ev.end] == ev.text


def test_to_json_is_flat_with_every_field():
    data = extract_fields("Nothing relevant here.").to_json()
    assert set(data) == {*FIELDS, "evidence"}
    assert data["evidence"] == {} and all(data[k] is None for k in FIELDS)


def test_a_line_that_is_not_utf8_is_named_and_read_with_replacement(tmp_path, monkeypatch, capsys):
    path = tmp_path / "notes.jsonl"
    lines = [json.dumps({"id": "a", "text": "A 54-year-old man."}).encode(),
             b'{"id": "b", "text": "caf\xe9: a 30-year-old woman"}',
             json.dumps({"id": "c", "text": "A 7 year old girl."}).encode()]  # fmt: skip
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, out, err = run_cli(["text-meta", "--jsonl", str(path), "--json"], None, monkeypatch,
                             capsys)  # fmt: skip
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [row["id"] for row in rows] == ["a", "b", "c"]
    assert rows[1]["age"] == 30 and rows[1]["sex"] == "F"
    column = lines[1].index(b"\xe9") + 1
    assert err.strip() == (
        f"{path}:2: not UTF-8: byte 0xe9 at column {column}; read with replacement characters"
    )
