"""One proposal for every kind of source: what each piece of evidence contributes."""

from __future__ import annotations

from pathlib import Path

from pipeline.classify.result import Classification
from pipeline.document import CaseFacts, Document, DocumentImage
from pipeline.propose import case_proposal, propose
from pipeline.records import DocumentFacts

XRAY = Classification("xray", "frontal", 0.95, ["a chest film"])
LATERAL = Classification("xray", "lateral", 0.9, ["a lateral film"])
OTHER = Classification("other", None, 0.97, ["a chart"])
UNSURE = Classification("ct", None, 0.4, ["few CT cues"])


def image(**values) -> DocumentImage:
    return DocumentImage(**{"index": 0, "file": Path("x-000.png"), "sha256": "a" * 64, **values})


def paper(*images: DocumentImage) -> Document:
    facts = DocumentFacts(doi="10.1/x", license="CC BY 4.0", credit="Doe et al.")
    return Document("doi-10.1_x", "doi", "10.1/x", Path("out"), facts, list(images))


def case_page(*images: DocumentImage, **case) -> Document:
    facts = CaseFacts(**{"site": "eurorad", "title": "COVID-19 pneumonia", **case})
    document = Document("url-x", "url", "https://x/case/1", Path("out"), images=list(images))
    document.case = facts
    return document


def draft(document: Document, result: Classification, **options):
    return propose(
        document, document.images[0], result, case_proposal(document.case),
        low_confidence=0.6, **options,
    )  # fmt: skip


def test_a_paper_image_takes_the_papers_facts_and_its_caption() -> None:
    caption = "Figure 1. Chest radiograph of a 65-year-old man with COVID-19 on admission."
    row = draft(paper(image(caption=caption, page=2)), XRAY)
    assert row.fields["doi"] == "10.1/x" and row.fields["other_notes"] == "Doe et al."
    assert (row.fields["age"], row.fields["sex"], row.fields["finding"]) == (65, "M", "COVID-19")
    assert row.fields["clinical_notes"] == caption and row.fields["modality"] == "X-ray"
    assert row.evidence["age"]["text"] and "from" not in row.evidence["age"]
    assert row.flags == [] and row.page == 2


def test_neither_xray_nor_ct_is_not_proposed_and_doubt_is_flagged() -> None:
    assert draft(paper(image()), OTHER) is None
    assert draft(paper(image()), UNSURE).flags == ["low confidence"]


def test_a_lateral_view_from_the_classifier_is_said_so() -> None:
    row = draft(paper(image(caption="Figure 2.")), LATERAL)
    assert row.fields["view"] == "L" and "view L from the classifier" in row.flags


def test_what_a_page_declares_wins_over_free_text_and_the_classifier() -> None:
    history = "A 70-year-old woman with fever for 3 days. She was intubated on day 2."
    shown = image(declared_modality="CT", declared_view="Axial", view_text="axial NECT",
                  caption="Figure 1: chest X-ray PA of a 40-year-old man")  # fmt: skip
    document = case_page(shown, age=62, sex="M", finding="COVID-19", clinical_history=history,
                         evidence={"age": "62, male", "sex": "62, male"})  # fmt: skip
    row = draft(document, XRAY)
    assert row.fields["modality"] == "CT" and row.fields["view"] == "Axial"
    assert (row.fields["age"], row.fields["sex"]) == (62, "M")
    assert row.evidence["age"] == {"from": "page", "text": "62, male"}
    assert row.fields["intubated"] == "Y" and row.evidence["intubated"]["from"] == "case text"
    assert any(flag.startswith("classifier disagrees: the page says CT") for flag in row.flags)
    assert row.fields["clinical_notes"].startswith(history)


def test_a_case_without_a_known_finding_or_a_certain_diagnosis_is_flagged() -> None:
    document = case_page(image(declared_modality="X-ray"), diagnosis="Organising pneumonia",
                         certainty="Diagnosis probable")  # fmt: skip
    flags = draft(document, XRAY).flags
    assert "finding not recognised in: Organising pneumonia" in flags
    assert "diagnostic certainty: Diagnosis probable" in flags


def test_a_panel_reads_its_own_part_of_the_caption() -> None:
    caption = "Figure 1. Example radiographs of: (A) non-COVID-19 pneumonia, (B) COVID-19."
    first = image(panel="A", panel_of=9, caption=caption,
                  panel_caption="Example radiographs of non-COVID-19 pneumonia")  # fmt: skip
    second = image(panel="B", panel_of=9, caption=caption,
                   panel_caption="Example radiographs of COVID-19.")  # fmt: skip
    assert "finding" not in draft(paper(first), XRAY).fields
    assert draft(paper(second), XRAY).fields["finding"] == "COVID-19"


def test_a_panel_without_caption_parts_takes_only_the_patients_facts() -> None:
    caption = "Figure 3. A 58-year-old woman with COVID-19: lateral radiograph on day 5."
    panel = image(panel="B", panel_of=9, caption=caption, flags=["panel", "letter-guessed"])
    fields = draft(paper(panel), XRAY).fields
    assert (fields["age"], fields["sex"]) == (58, "F")
    assert "view" not in fields and "offset" not in fields and "finding" not in fields


def test_both_offset_clocks_travel_with_the_row_and_a_disagreement_is_flagged() -> None:
    history = "A 50-year-old man, fever and cough for 7 days. Chest X-ray on day 3 of admission."
    row = draft(case_page(image(declared_modality="X-ray"), clinical_history=history), XRAY)
    onset, admission = row.evidence["offset_since_onset"], row.evidence["offset_since_admission"]
    assert (onset["value"], admission["value"]) == (10, 3) and row.fields["offset"] == 3
    assert onset["from"] == "case text" and admission["text"]
    assert "offset clocks differ: day 10 since onset, day 3 since admission" in row.flags


def test_clocks_that_agree_are_not_flagged() -> None:
    caption = "Figure 1. Chest radiograph on admission of a man with no symptoms before."
    row = draft(paper(image(caption=caption)), XRAY)
    assert not any(flag.startswith("offset clocks differ") for flag in row.flags)


def test_the_classifiers_flags_reach_the_reviewer() -> None:
    overlay = Classification("xray", "frontal", 0.8, ["a heat map over a film"], flags=["overlay"])
    assert draft(paper(image(caption="Figure 4. Grad-CAM.")), overlay).flags == ["overlay"]
