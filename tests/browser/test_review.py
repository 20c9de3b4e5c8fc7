"""The review page in real headless Chromium: upload a clip with two people (two textured
squares the scripted engine tells apart), ask for review, keep one person, render, download,
and check that only the other person's pixels changed. Needs no model files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.config import Settings
from tests.browser.conftest import free_port, serving
from tests.jobs.fixtures import engine_spec
from tests.jobs.media import hidden_people_in, make_two_people_clip

pytestmark = [pytest.mark.browser]


@pytest.fixture
def review_server(tmp_path):
    from app.main import create_app

    settings = Settings(data_dir=tmp_path / "data", port=free_port(), poll_interval_ms=200)
    app = create_app(settings, engine=engine_spec("two_people"))
    with serving(app, settings.port) as url:
        yield url


def test_review_keep_one_person_then_render(browser, review_server, tmp_path):
    clip = make_two_people_clip(tmp_path / "two-people.mp4")
    page = browser.new_page(accept_downloads=True, bypass_csp=True,
                            viewport={"width": 1100, "height": 900})
    page.goto(review_server + "/")
    page.set_input_files("#file", str(clip))
    assert page.is_hidden("#references")
    page.check("input[name=mode][value=only]")
    assert page.is_visible("#references")
    page.check("input[name=mode][value=all]")
    page.check("#review")
    page.click("#submit")

    page.wait_for_url("**/jobs/*", timeout=30_000)
    page.wait_for_selector(".person", timeout=30_000)
    assert page.text_content("#state") == "review"
    cards = page.locator(".person")
    assert cards.count() == 2
    assert page.is_hidden("#progress-block")
    first = cards.nth(0)
    assert "0:00–0:02" in first.inner_text() and "40 frames" in first.inner_text()
    page.wait_for_function(
        "Array.from(document.querySelectorAll('.person-thumbs img'))"
        ".every(i => i.complete && i.naturalWidth === 160)", timeout=10_000)
    # Which card shows the red square? Ask the page for its thumbnail's colour.
    is_red = page.evaluate("""() => Array.from(document.querySelectorAll('.person')).map(card => {
        const img = card.querySelector('.person-thumbs img');
        const c = document.createElement('canvas'); c.width = 160; c.height = 160;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
        const d = g.getImageData(40, 40, 80, 80).data; let r = 0, b = 0;
        for (let i = 0; i < d.length; i += 4) { r += d[i]; b += d[i + 2]; }
        return r > b; })""")
    assert sorted(is_red) == [False, True]
    red_card = cards.nth(is_red.index(True))
    shots = Path(os.environ.get("VEIL_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)

    red_card.locator(".person-top .toggle button[data-blur=false]").click()
    page.wait_for_function(
        "document.querySelectorAll('.person.is-kept').length === 1", timeout=10_000)
    red_card = page.locator(".person.is-kept")
    assert "Visible: editor chose to show" in red_card.inner_text()
    assert "1 blurred, 1 visible" in page.inner_text("#review-summary")
    red_card.locator("details summary").click()
    assert red_card.locator("li").count() == 1
    page.screenshot(path=str(shots / "job-review.png"), full_page=True)

    page.click("#render")
    page.wait_for_function("document.getElementById('state').textContent === 'succeeded'",
                           timeout=60_000)
    assert page.is_hidden("#review") and page.inner_text("#percent") == "100%"
    with page.expect_download() as download_info:
        page.click("#download")
    downloaded = tmp_path / "result.mp4"
    download_info.value.save_as(downloaded)
    assert hidden_people_in(clip, downloaded) == {"blue"}
