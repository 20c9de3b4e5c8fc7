from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from app.pipeline import models
from app.pipeline.types import FaceBoxes

SHARED_EVAL = Path(__file__).resolve().parents[1].parent / "shared" / "eval"


class ScriptedDetector:
    """Returns the boxes a test scripts for each call (in call order), or a function of the
    image, scored 0.9 or ``score_for_call(call)``; records what it was shown."""

    def __init__(self, boxes_for_call=None, boxes_for_image=None, score_for_call=None) -> None:
        self.boxes_for_call = boxes_for_call
        self.boxes_for_image = boxes_for_image
        self.score_for_call = score_for_call
        self.calls = 0
        self.shapes: list[tuple[int, ...]] = []

    def detect(self, image_rgb: np.ndarray, max_side_px: int) -> FaceBoxes:
        self.shapes.append(image_rgb.shape)
        if self.boxes_for_image is not None:
            xyxy = self.boxes_for_image(image_rgb)
        else:
            xyxy = self.boxes_for_call(self.calls)
        score = 0.9 if self.score_for_call is None else self.score_for_call(self.calls)
        self.calls += 1
        xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
        n = len(xyxy)
        return FaceBoxes(xyxy, np.full(n, score, np.float32), np.full((n, 5, 2), np.nan, np.float32))


@pytest.fixture
def scripted_detector():
    return ScriptedDetector


def _models_present() -> bool:
    try:
        models.model_path(models.CENTERFACE)
    except models.ModelError:
        return False
    return True


@pytest.fixture(scope="session")
def centerface():
    if not _models_present():
        pytest.skip("CenterFace is not installed here (run 'make setup')")
    from app.pipeline.detect import CenterFace

    return CenterFace()


@pytest.fixture(scope="session")
def yunet():
    from app.pipeline.yunet import YuNet

    try:
        return YuNet()
    except models.ModelError as error:
        pytest.skip(f"YuNet is not installed here: {error}")


@pytest.fixture(scope="session")
def retinaface():
    from app.pipeline.retinaface import RetinaFace

    try:
        return RetinaFace(min_score=0.1)
    except models.ModelError as error:
        pytest.skip(f"RetinaFace is not installed here: {error}")


@pytest.fixture(scope="session")
def shared_eval() -> Path:
    if not SHARED_EVAL.is_dir():
        pytest.skip(f"real footage folder {SHARED_EVAL} is absent")
    return SHARED_EVAL


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With VEIL_REQUIRE_ALL=1 (set by .ci/run) a test that skips for a missing model, browser
    or footage folder fails instead: CI installs all of them, so a skip there hides a gap."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("VEIL_REQUIRE_ALL") == "1":
        report.outcome = "failed"
        report.longrepr = f"skipped, but VEIL_REQUIRE_ALL=1 requires it to run: {report.longrepr}"
