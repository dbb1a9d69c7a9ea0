"""Compound-figure captions: per-panel text, offsets and views."""

from pipeline.textmeta import extract_fields, extract_panel_fields, split_panel_captions


def test_leading_parenthesised_markers():
    caption = "(A) Hospital day 1: clear lungs. (B) Hospital day 14: bilateral consolidation."
    parts = split_panel_captions(caption)
    assert set(parts) == {"A", "B"}
    assert "day 14" in parts["B"] and "day 14" not in parts["A"]
    panels = extract_panel_fields(caption)
    assert panels["A"].values["offset"] == 1
    assert panels["B"].values["offset"] == 14


def test_leading_markers_without_punctuation_between():
    panels = extract_panel_fields("(A) Hospital day 1 (B) Hospital day 14")
    assert {k: v.values["offset"] for k, v in panels.items()} == {"A": 1, "B": 14}


def test_lowercase_comma_markers_and_views():
    caption = "A 45-year-old man. a, PA radiograph on admission; b, lateral radiograph."
    panels = extract_panel_fields(caption)
    assert panels["A"].values["view"] == "PA"
    assert panels["B"].values["view"] == "L"
    assert panels["A"].values["offset"] == 0
    # Patient fields come from the whole caption.
    assert panels["B"].values["age"] == 45 and panels["B"].values["sex"] == "M"


def test_inline_markers_with_a_day_list():
    caption = "Chest X-Ray of a symptomatic patient on hospital days 1 (a), 3 (b), and 5 (c)."
    panels = extract_panel_fields(caption)
    assert {k: v.values["offset"] for k, v in panels.items()} == {"A": 1, "B": 3, "C": 5}
    # The caption as a whole names three days: no single offset.
    assert extract_fields(caption).values["offset"] is None


def test_springer_style_and_grouped_inline_markers():
    caption = (
        "Serial chest X-ray findings in a 72-year-old male patient. a Baseline frontal chest "
        "radiograph performed on the day of admission. A rapid progression is shown on "
        "radiographic follow-ups performed at day 4 (b) and day 5 (c) post-hospitalization"
    )
    panels = extract_panel_fields(caption)
    assert {k: v.values["offset"] for k, v in panels.items()} == {"A": 0, "B": 4, "C": 5}


def test_panel_groups_and_ranges():
    caption = (
        "An initial radiograph (anteroposterior view) at admission (Panel A) shows hazy "
        "opacities. Axial CT images (Panels C and D) and coronal reformats (Panel E) show GGO."
    )
    panels = extract_panel_fields(caption)
    assert panels["A"].values["view"] == "AP"
    assert panels["C"].values["view"] == panels["D"].values["view"] == "Axial"
    assert panels["E"].values["view"] == "Coronal"
    assert extract_fields(caption).values["view"] is None


def test_whole_figure_range_is_not_a_panel():
    assert split_panel_captions("Chest X-rays of a patient (a-d).") == {}


def test_no_panels():
    caption = "A 55-year-old woman. A chest radiograph showed consolidation."
    assert split_panel_captions(caption) == {}
    assert extract_panel_fields(caption) == {}


def test_article_a_is_not_a_panel():
    assert split_panel_captions("Fever. A rapid progression was seen. A. Smith reported it.") == {}


def test_panel_evidence_points_into_the_caption():
    caption = "(A) Hospital day 1: clear. (B) Hospital day 14: consolidation."
    for fields in extract_panel_fields(caption).values():
        for ev in fields.evidence.values():
            assert caption[ev.start : ev.end] == ev.text


def test_panels_labelled_with_days_after_a_colon():
    caption = "Serial chest radiographs: (a) day 1, (b) day 4, (c) day 9 after symptom onset."
    panels = extract_panel_fields(caption)
    assert {k: v.values["offset"] for k, v in panels.items()} == {"A": 1, "B": 4, "C": 9}
    assert extract_fields(caption).values["offset"] is None


def test_shared_prefix_view_applies_to_every_panel():
    caption = "Posteroanterior chest radiographs. (A) Hospital day 1. (B) Hospital day 5."
    panels = extract_panel_fields(caption)
    assert panels["A"].values["view"] == panels["B"].values["view"] == "PA"
    assert extract_fields(caption).values["view"] == "PA"


def test_comma_lettered_panels_with_a_range():
    caption = "Figure 1. a, PA radiograph on admission; b, lateral radiograph; c-d, axial CT images"
    assert split_panel_captions(caption) == {
        "A": "a, PA radiograph on admission",
        "B": "b, lateral radiograph",
        "C": "c-d, axial CT images",
        "D": "c-d, axial CT images",
    }
    panels = extract_panel_fields(caption)
    assert {k: v.values["view"] for k, v in panels.items()} == {
        "A": "PA",
        "B": "L",
        "C": "Axial",
        "D": "Axial",
    }
    assert panels["A"].values["offset"] == 0


def test_prose_letters_with_commas_are_not_panels():
    for caption in (
        "Consolidation in segments a, b and c of the right lung.",
        "Fever. a, b and c show ground-glass opacities.",
        "As shown in Fig. 3 a, the lesions grew; b, c and d were stable.",
        "Both lungs were involved. a, b, c denote the lobes; d, the hilum.",
    ):
        assert split_panel_captions(caption) == {}, caption


def test_both_views_find_the_same_panels():
    from pipeline.pdf.caption_text import split_panel_captions as with_lead

    for caption in (
        "Figure 2. A 54-year-old man. (A) PA chest radiograph. (B) Lateral radiograph.",
        "Fig. 2 a, PA radiograph on admission; b, lateral radiograph; c\u2013d, CT images",
        "Fig. 3: a) PA view; b) lateral view, c) CT",
    ):
        assert [k.upper() for k in with_lead(caption)] == list(split_panel_captions(caption))
