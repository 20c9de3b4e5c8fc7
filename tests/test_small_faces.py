"""The real detectors on the engine's schedule find small faces: a 20-px face in a 1080p
frame is hidden in every frame (the base pass at reduced scale cannot see it; the
full-resolution passes, YuNet, do, and tracks carry it between them)."""

import threading
from fractions import Fraction
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


def scene_with_face(width, height, face_px, xy, speed_px=1):
    rng = np.random.default_rng(7)
    background = cv2.GaussianBlur(rng.integers(60, 200, (height // 8, width // 8, 3), dtype=np.uint8),
                                  (0, 0), 1.0)
    background = cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR)
    crop_px = int(round(face_px / FACE_FRACTION))
    face = cv2.resize(FACE, (crop_px, crop_px), interpolation=cv2.INTER_AREA)

    def frame(i):
        image = background.copy()
        x, y = xy[0] + speed_px * i, xy[1]
        image[y:y + crop_px, x:x + crop_px] = face
        return image

    def face_xyxy(i):
        x, y = xy[0] + speed_px * i, xy[1]
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
    assert visible_frames(source, out, face_xyxy) == []


class CountedDetector:
    """A real detector, counting its calls (from any number of threads)."""

    def __init__(self, detector) -> None:
        self.detector, self.calls, self.lock = detector, 0, threading.Lock()
        self.concurrent_calls = getattr(detector, "concurrent_calls", 1)

    def detect(self, image_rgb, max_side_px):
        with self.lock:
            self.calls += 1
        return self.detector.detect(image_rgb, max_side_px)


def test_detection_frames_at_once_find_what_one_at_a_time_finds(tmp_path, centerface, yunet):
    """The CLI's detectors run one thread per call, several frames at once: the same passes
    and the same tracks (frames and boxes, within a pixel) as the detectors run one frame at a
    time, on a clip with an upright face and a face lying on its side, which the first frame's
    turned pass finds (so that turn then runs on every detection frame)."""
    from app.pipeline.anonymize import analyse_video, load_detector, load_full_res_detector
    from app.pipeline.detect import concurrent_calls, default_threads
    from app.pipeline.types import AnonymizeOptions

    upright, _ = scene_with_face(1280, 720, 80, (200, 200))
    lying = np.ascontiguousarray(np.rot90(cv2.resize(FACE, (160, 160), interpolation=cv2.INTER_AREA), 3))

    def frame(i):
        image = upright(i)
        image[300:460, 800:960] = lying
        return image
    source = make_video(tmp_path / "in.mp4", width=1280, height=720, frames=40, frame_fn=frame, audio=None)
    options = AnonymizeOptions()
    at_once = load_detector(options), load_full_res_detector(options)
    assert concurrent_calls(*at_once) == default_threads()
    assert concurrent_calls(centerface, yunet) == 1
    runs = [(CountedDetector(d), CountedDetector(f)) for d, f in (at_once, (centerface, yunet))]
    analyses = [analyse_video(source, options, detector=d, full_res_detector=f) for d, f in runs]
    calls = [d.calls for d, _ in runs]
    assert calls[0] == calls[1] > 2 * analyses[1].detected_frames, "turn 1 on every detection frame"
    tracks = [sorted(a.tracks, key=lambda t: (t.first_frame, t.xyxy[0, 0])) for a in analyses]
    assert len(tracks[0]) == len(tracks[1]) == 2, "the upright and the lying face"
    for a, b in zip(*tracks):
        assert (a.first_frame, a.last_frame) == (b.first_frame, b.last_frame)
        assert np.abs(a.xyxy - b.xyxy).max() <= 1.0


def visible_frames(source, out, face_xyxy):
    before, after = read_video(source), read_video(out)
    visible = []
    for i, (a, b) in enumerate(zip(before.frames, after.frames)):
        corr = face_visibility(fine_detail(to_gray(a)), fine_detail(to_gray(b)), face_xyxy(i)[None])[0]
        if not corr < MAX_HIDDEN_CORRELATION:
            visible.append(i)
    return visible


def test_small_face_in_a_moving_scene_hidden_in_every_frame(tmp_path, centerface, yunet, monkeypatch):
    """A 20-px face sweeping across a 960x540, 25 fps frame (a camera panning past a crowd)
    is about 13 px at the base scale: only the full-resolution pass (YuNet) sees it. At this
    size that pass runs on every detection frame, so the track follows the face. Twice a
    second, as at every size before, the face is held where it was last seen while it moves
    on, and it is left visible."""
    from app.pipeline import schedule

    frame, face_xyxy = scene_with_face(960, 540, 20, (100, 300), speed_px=6)
    source = make_video(tmp_path / "in.mp4", width=960, height=540, frames=50, frame_fn=frame,
                        audio=None, rate=Fraction(25))
    out = tmp_path / "out.mp4"
    anonymize_video(source, out)  # the models load as the CLI loads them
    assert visible_frames(source, out, face_xyxy) == []
    monkeypatch.setattr(schedule, "VIDEO_FULL_RES_PX_PER_S", 0)  # twice a second
    anonymize_video(source, out)  # the models load as the CLI loads them
    assert visible_frames(source, out, face_xyxy), "the test's face should need the faster passes"
