"""End to end in real headless Chromium: upload a generated clip, watch the progress reach
100%, play the result inline, download it and check its frames and audio.

Runs the real engine (needs the model files) on a server started with uvicorn.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.config import Settings
from tests.browser.conftest import free_port, serving
from tests.jobs.media import count_frames_and_audio_packets

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.models]


@pytest.fixture
def server_url(tmp_path):
    from app.main import create_app
    from app.pipeline.errors import ModelError

    settings = Settings(data_dir=tmp_path / "data", port=free_port(), poll_interval_ms=200)
    try:
        app = create_app(settings)
    except ModelError as error:
        pytest.skip(f"the real engine needs its models: {error}")
    with serving(app, settings.port) as url:
        yield url


def test_upload_progress_play_download(browser, server_url, clip_path, tmp_path):
    page = browser.new_page(accept_downloads=True, bypass_csp=True,  # wait_for_function evals
                            viewport={"width": 1100, "height": 900})
    page.goto(server_url + "/")
    assert "MP4" in page.inner_text("#dropzone")
    page.set_input_files("#file", str(clip_path))
    assert "clip.mp4" in page.inner_text("#dz-title")
    page.check("input[name=shape][value=box]")
    page.click("#submit")

    page.wait_for_url("**/jobs/*", timeout=30_000)
    page.wait_for_function(
        "document.getElementById('percent').textContent === '100%'"
        " && document.getElementById('state').textContent === 'succeeded'", timeout=60_000)
    assert page.inner_text("#frames") == "25 / 25"

    player = page.locator("#player")
    page.wait_for_function("document.getElementById('player').duration > 0", timeout=30_000)
    duration = player.evaluate("v => v.duration")
    assert 0.9 <= duration <= 1.2
    player.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("document.getElementById('player').currentTime > 0", timeout=30_000)
    page.wait_for_function(
        "document.getElementById('after').complete && document.getElementById('after').naturalWidth > 0",
        timeout=10_000)

    with page.expect_download() as download_info:
        page.click("#download")
    downloaded = tmp_path / "result.mp4"
    download_info.value.save_as(downloaded)
    frames, audio_packets = count_frames_and_audio_packets(downloaded)
    assert frames == 25
    assert audio_packets == count_frames_and_audio_packets(clip_path)[1] > 0

    player.evaluate("v => { v.pause(); v.currentTime = 0.5; }")
    shots = Path(os.environ.get("VEIL_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "job-finished.png"), full_page=True)
    report = page.request.get(server_url + page.get_attribute("#report", "href"))
    assert report.ok and report.json()["kind"] == "video"
