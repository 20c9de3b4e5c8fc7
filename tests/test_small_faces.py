"""The real detectors on the engine's schedule find small faces: a 20-px face in a 1080p
frame is hidden in every frame (the base pass at reduced scale cannot see it; the
full-resolution passes, YuNet, do, and tracks carry it between them)."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.pipeline.anonymize import anonymize_video
from bench.common import MAX_HIDDEN_CORRELATION, face_visibility, fine_detail, to_gray
from tests.media import make_video, read_video

pytestmark = [pytest.mark.models, pytest.mark.slow]
FACE = cv2.cvtColor(cv2.imread(str(Path(__file__).parent / "data" / "face.png")), cv2.COLOR_BGR2RGB)
FACE_FRACTION = 0.6  # the face box is about this share of the crop's width


def scene_with_face(width, height, face_px, xy):
    rng = np.random.default_rng(7)
    background = cv2.GaussianBlur(rng.integers(60, 200, (height // 8, width // 8, 3), dtype=np.uint8),
                                  (0, 0), 1.0)
    background = cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR)
    crop_px = int(round(face_px / FACE_FRACTION))
    face = cv2.resize(FACE, (crop_px, crop_px), interpolation=cv2.INTER_AREA)

    def frame(i):
        image = background.copy()
        x, y = xy[0] + i, xy[1]
        image[y:y + crop_px, x:x + crop_px] = face
        return image

    def face_xyxy(i):
        x, y = xy[0] + i, xy[1]
        m = crop_px * (1 - FACE_FRACTION) / 2
        return np.array([x + m, y + m, x + crop_px - m, y + crop_px - m], np.float32)

    return frame, face_xyxy


@pytest.mark.parametrize(("size_wh", "face_px"), [((1920, 1080), 20), ((1280, 720), 24)])
def test_small_face_hidden_in_every_frame(tmp_path, centerface, yunet, size_wh, face_px):
    frame, face_xyxy = scene_with_face(*size_wh, face_px, (900, 500))
    source = make_video(tmp_path / "in.mp4", width=size_wh[0], height=size_wh[1], frames=20,
                        frame_fn=frame, audio=None)
    out = tmp_path / "out.mp4"
    report = anonymize_video(source, out)  # the models load as the CLI loads them
    assert report["tracks"], "the small face was never detected"
    before, after = read_video(source), read_video(out)
    visible = []
    for i, (a, b) in enumerate(zip(before.frames, after.frames)):
        corr = face_visibility(fine_detail(to_gray(a)), fine_detail(to_gray(b)), face_xyxy(i)[None])[0]
        if not corr < MAX_HIDDEN_CORRELATION:
            visible.append((i, corr))
    assert not visible, f"face visible in frames {visible}"
