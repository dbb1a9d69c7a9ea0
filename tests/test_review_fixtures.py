"""A staging store filled for the review page's tests (no tests of its own here)."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import Config, load_config
from pipeline.records import CandidateDraft
from pipeline.store import Store
from tests import phantoms
from tests.paths import output_env

ALPHA = "doi:10.1000/alpha.2020"
CASE = "https://radiopaedia.example/cases/covid-19-pneumonia-7"
HOSTILE = "pdf:hostile.pdf"
CAPTION = (
    "Figure 2. A 54-year-old man with COVID-19 pneumonia. (A) PA chest radiograph on day 3 "
    "shows bilateral peripheral opacities. (B) Lateral view. (C) Axial CT on day 5."
)
HOSTILE_NOTES = (
    '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> 70 year old woman'
)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Staging:
    store: Store
    config: Config
    ids: dict[str, int]


def _span(text: str, words: str) -> dict[str, object]:
    start = text.index(words)
    return {"start": start, "end": start + len(words), "text": words}


def _write_png(folder: Path, name: str, image) -> tuple[str, str]:  # noqa: ANN001
    import cv2

    path = folder / name
    cv2.imwrite(str(path), image)
    return str(path), hashlib.sha256(path.read_bytes()).hexdigest()


def _draft(folder: Path, name: str, image, source_id: str, kind: str, **extra) -> CandidateDraft:  # noqa: ANN001, ANN003
    path, sha = _write_png(folder, name, image)
    return CandidateDraft(source_id=source_id, source_kind=kind, image_sha256=sha,
                          image_file=path, **extra)  # fmt: skip


def make_staging(root: Path) -> Staging:
    """Three sources: a paper's compound figure, a case page, and a hostile PDF."""
    config = load_config(env=output_env(root))
    store = Store.open(config.path("staging_db"))
    images = config.path("extracted") / "img"
    images.mkdir(parents=True)
    paper = {"doi": "10.1000/alpha.2020", "license": "CC BY 4.0", "clinical_notes": CAPTION}
    ids: dict[str, int] = {}

    def stage(key: str, draft: CandidateDraft) -> None:
        ids[key] = store.stage([draft]).staged[0]

    stage("alpha_a", _draft(
        images, "alpha-p2-a.png", phantoms.chest_xray_frontal(384, 1), ALPHA, "doi", page=2,
        image_index=0, panel="A", caption=CAPTION, classifier_modality="xray",
        classifier_view="frontal", classifier_confidence=0.93,
        classifier_reasons=["dark lung fields either side of a bright mediastinum"],
        fields={**paper, "modality": "X-ray", "view": "PA", "age": "54", "sex": "M",
                "offset": "3", "finding": "COVID-19", "filename": "alpha-p2-a.png"},
        evidence={"age": _span(CAPTION, "54-year-old"), "sex": _span(CAPTION, "man"),
                  "view": _span(CAPTION, "PA"), "offset": _span(CAPTION, "day 3")},
    ))  # fmt: skip
    stage("alpha_b", _draft(
        images, "alpha-p2-b.png", phantoms.chest_xray_lateral(384, 2), ALPHA, "doi", page=2,
        image_index=0, panel="B", caption=CAPTION, classifier_modality="xray",
        classifier_view="lateral", classifier_confidence=0.81, classifier_reasons=["lateral"],
        fields={**paper, "modality": "X-ray", "view": "L", "age": "54", "sex": "M",
                "finding": "COVID-19", "filename": "alpha-p2-b.png"},
        evidence={"age": _span(CAPTION, "54-year-old")},
    ))  # fmt: skip
    stage("alpha_c", _draft(
        images, "alpha-p3.png", phantoms.ct_axial(384, 3), ALPHA, "doi", page=3, image_index=1,
        caption=CAPTION, classifier_modality="ct", classifier_confidence=0.52,
        classifier_reasons=["circular field of view"], flags=["low confidence"],
        fields={**paper, "modality": "CT", "view": "Axial", "age": "54", "sex": "M",
                "offset": "5", "finding": "COVID-19", "filename": "alpha-p3.png"},
    ))  # fmt: skip
    case_notes = "A 61 year old woman, fever and cough for 6 days. Intubated on day 8."
    case = {"url": CASE, "license": "CC BY-NC-SA", "clinical_notes": case_notes,
            "finding": "COVID-19", "age": "61", "sex": "F"}  # fmt: skip
    for key, seed in (("case_1", 4), ("case_2", 5)):
        stage(key, _draft(
            images, f"{key}.png", phantoms.chest_xray_frontal(384, seed), CASE, "url",
            image_index=seed, classifier_modality="xray", classifier_view="frontal",
            classifier_confidence=0.88,
            fields={**case, "modality": "X-ray", "filename": f"{key}.png"},
            evidence={"age": _span(case_notes, "61 year old"), "sex": _span(case_notes, "woman")},
            flags=[f"possible duplicate of candidate {ids['alpha_a']} (distance 4)"]
            if key == "case_2" else [],
        ))  # fmt: skip
    stage("hostile", _draft(
        images, "hostile.png", phantoms.chest_xray_frontal(384, 9), HOSTILE, "pdf", page=1,
        caption=HOSTILE_NOTES, classifier_modality="xray", classifier_confidence=0.7,
        classifier_reasons=['<b onmouseover="window.__pwned = 3">bold</b>'],
        fields={"modality": "X-ray", "clinical_notes": HOSTILE_NOTES, "url": "javascript:alert(1)",
                "doi": '10.1/"><script>window.__pwned=4</script>', "filename": "hostile.png"},
        evidence={"age": {"start": 0, "end": 20, "text": "<script>window.__pwn"}},
        flags=['<img src=x onerror="window.__pwned = 5">'],
    ))  # fmt: skip
    store.record_source(ALPHA, "doi", "https://doi.org/10.1000/alpha.2020", images_found=3)
    store.record_source(CASE, "url", CASE, images_found=2)
    store.record_source(HOSTILE, "pdf", "/papers/hostile.pdf", images_found=1)
    return Staging(store, config, ids)


@contextmanager
def serving(app) -> Iterator[str]:  # noqa: ANN001
    """The app on a free loopback port in a thread (waitress, as `pipeline review` runs it)."""
    from waitress import wasyncore
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    stop = threading.Event()

    def run() -> None:
        # server.run() in slices, so that the same thread closes every connection at the end.
        while not stop.is_set():
            wasyncore.loop(timeout=0.05, map=server._map, count=1)
        server.task_dispatcher.shutdown()
        wasyncore.close_all(server._map)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stop.set()
        thread.join(timeout=10)
