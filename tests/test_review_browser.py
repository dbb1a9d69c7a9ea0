"""The review page in a real headless Chromium (Debian's), against a staging store."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.review.app import create_app
from tests.test_review_fixtures import CASE, HOSTILE_NOTES, Staging, make_staging, serving

CHROMIUM = Path("/usr/bin/chromium")
NOTES_SCREENSHOT = Path("/work/notes/review-screenshot.png")
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]  # fmt: skip
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for this module. Not session-wide: while Playwright's sync API is alive
    it marks its event loop as running in this thread, which would break asyncio.run() in
    tests that run after these."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def staging(tmp_path: Path) -> Staging:
    return make_staging(tmp_path / "staging")


@pytest.fixture
def site(staging: Staging) -> Iterator[str]:
    with serving(create_app(staging.store, staging.config)) as base:
        yield base


@pytest.fixture
def contexts() -> Iterator[list[Any]]:
    opened: list[Any] = []
    yield opened
    for context in opened:
        context.close()


def reviewer_page(browser: Any, contexts: list[Any], base: str, name: str) -> Any:
    context = browser.new_context(base_url=base, viewport={"width": 1440, "height": 900})
    contexts.append(context)
    context.add_cookies([{"name": "reviewer", "value": name, "url": base}])
    page = context.new_page()
    page.dialogs = []  # every alert/confirm the page raised
    page.errors = []  # uncaught script errors

    def on_dialog(dialog: Any) -> None:
        page.dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.set_default_timeout(5000)
    return page


def test_a_review_session_by_keyboard(
    browser: Any, contexts: list[Any], site: str, staging: Staging, tmp_path: Path
) -> None:
    ids, store = staging.ids, staging.store
    page = reviewer_page(browser, contexts, site, "ana")
    page.goto("/")
    page.keyboard.press("j")
    page.wait_for_url(f"**/candidate/{ids['alpha_a']}")
    page.locator("#main-image").evaluate("image => image.decode()")
    page.screenshot(path=tmp_path / "candidate.png")
    if NOTES_SCREENSHOT.parent.is_dir():
        shutil.copyfile(tmp_path / "candidate.png", NOTES_SCREENSHOT)

    # edit: the vocabulary is checked as the reviewer types
    page.keyboard.press("e")
    sex = page.locator("input[name=f_sex]")
    assert sex.evaluate("input => input === document.activeElement")
    sex.fill("male")
    assert page.locator(".field[data-field=sex] .check").inner_text() == "not one of M, F"
    sex.fill("M")
    assert page.locator(".field[data-field=sex] .check").inner_text() == ""
    page.locator("input[name=f_location]").fill("Milan, Italy")
    page.keyboard.press("Escape")

    # approve by keyboard (the edit is saved with it), then on to the next candidate
    page.keyboard.press("a")
    page.wait_for_url(f"**/candidate/{ids['alpha_b']}")
    assert f"Approved #{ids['alpha_a']}" in page.locator(".flash-ok").inner_text()

    # reject with a reason, then undo it
    page.keyboard.press("r")
    page.keyboard.type("duplicate")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/candidate/{ids['case_1']}")  # alpha_c, low confidence, comes last
    assert store.candidate(ids["alpha_b"]).decision_reason == "duplicate"
    page.keyboard.press("u")
    page.wait_for_url(f"**/candidate/{ids['alpha_b']}")
    assert "pending again" in page.locator(".flash-ok").inner_text()
    assert store.candidate(ids["alpha_b"]).status == "pending"

    # bulk-approve the case page's images after looking at its grid
    page.goto(f"/source?id={CASE}")
    page.locator("#bulk-approve button").click()
    page.locator(".flash-ok", has_text="Approved 2 candidate(s)").wait_for()
    case_rows = store.candidates(source_id=CASE)
    assert {row.status for row in case_rows} == {"approved"}
    assert len({row.fields["patientid"] for row in case_rows}) == 1

    # export: the edited row is in metadata.csv
    page.locator("#export-form button").click()
    page.locator(".flash-ok", has_text="Exported 3 rows").wait_for()
    rows = list(csv.DictReader(staging.config.path("dataset_csv").open()))
    [edited] = [row for row in rows if row["filename"] == "alpha-p2-a.png"]
    assert edited["location"] == "Milan, Italy" and edited["sex"] == "M"
    assert page.errors == [] and page.dialogs == ["Approve all 2 pending from this source?"]


def test_hostile_notes_render_as_text(
    browser: Any, contexts: list[Any], site: str, staging: Staging
) -> None:
    page = reviewer_page(browser, contexts, site, "ana")
    response = page.goto(f"/candidate/{staging.ids['hostile']}")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert page.locator("#notes").inner_text() == HOSTILE_NOTES
    page.locator(".field[data-field=finding]").hover()  # runs the page's own script
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#notes img, .flags img, .reasons b").count() == 0
    assert page.get_by_text("javascript:alert(1)").count() == 1
    assert page.locator("a[href^='javascript:']").count() == 0
    assert page.dialogs == [] and page.errors == []


def test_a_second_reviewer_is_told_of_the_first_decision(
    browser: Any, contexts: list[Any], site: str, staging: Staging
) -> None:
    target = staging.ids["alpha_b"]
    ana = reviewer_page(browser, contexts, site, "ana")
    ben = reviewer_page(browser, contexts, site, "ben")
    ana.goto(f"/candidate/{target}")
    ben.goto(f"/candidate/{target}")

    ana.keyboard.press("a")
    ana.wait_for_url(lambda url: not url.endswith(f"/candidate/{target}"))
    ben.keyboard.press("r")
    ben.keyboard.type("not a chest X-ray or CT")
    ben.keyboard.press("Enter")

    conflict = ben.locator("#conflict")
    conflict.wait_for()
    assert "ana" in conflict.inner_text() and "approved" in conflict.inner_text()
    assert "rejection was not saved" in conflict.inner_text()
    row = staging.store.candidate(target)
    assert row.status == "approved" and row.decided_by == "ana"
    assert [entry.actor for entry in staging.store.audit(target)] == ["ana"]


def test_the_two_offset_clocks_are_one_key_each(
    browser: Any, contexts: list[Any], site: str, staging: Staging
) -> None:
    from tests import phantoms
    from tests.test_review_fixtures import _draft

    notes = "Fever and cough for 7 days. Chest X-ray on day 3 of admission."
    clocks = {
        "offset_since_onset": {"from": "case text", "text": "for 7 days", "value": 10},
        "offset_since_admission": {"from": "case text", "text": "day 3", "value": 3},
    }
    draft = _draft(
        staging.config.path("extracted") / "img", "clock.png", phantoms.chest_xray_frontal(384, 11),
        "url-clock", "url", classifier_modality="xray", classifier_confidence=0.9,
        fields={"modality": "X-ray", "offset": "3", "clinical_notes": notes,
                "filename": "clock.png"},
        evidence=clocks, flags=["offset clocks differ: day 10 since onset, day 3 since admission"],
    )  # fmt: skip
    [cid] = staging.store.stage([draft]).staged
    page = reviewer_page(browser, contexts, site, "ana")
    page.goto(f"/candidate/{cid}")
    assert "10 since symptom onset" in " ".join(page.locator("#clocks").inner_text().split())
    page.keyboard.press("1")
    assert page.locator("input[name=f_offset]").input_value() == "10"
    page.keyboard.press("a")
    page.locator(".flash-ok", has_text=f"Approved #{cid}").wait_for()
    assert staging.store.candidate(cid).fields["offset"] == "10"
    assert page.errors == []
