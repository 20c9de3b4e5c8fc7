"""YuNet, the full-resolution pass for small faces in video: decoding, the real model, and
the engine giving it the full-resolution passes only."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.pipeline.anonymize import anonymize_video
from app.pipeline.boxes import iou_matrix
from app.pipeline.detect import absorb_contained
from app.pipeline.schedule import VIDEO_FULL_RES_MAX_BASE_FACE_PX
from app.pipeline.types import AnonymizeOptions, DetectOptions, FaceBoxes, RedactOptions, RedactShape, TrackOptions
from app.pipeline import models
from app.pipeline.yunet import STRIDES, decode_yunet
from tests.media import draw_frame, make_video, read_video

FACE = cv2.cvtColor(cv2.imread(str(Path(__file__).parents[1] / "data" / "face.png")), cv2.COLOR_BGR2RGB)


def yunet_outputs(input_hw, cells):
    """YuNet's twelve output arrays for a padded input of input_hw, all cells empty but the
    given ones: {(stride, row, col): (score, (dx, dy, log w, log h), ten landmark offsets)}."""
    out = {}
    for stride in STRIDES:
        n = (input_hw[0] // stride) * (input_hw[1] // stride)
        out[stride] = [np.zeros((1, n, 1), np.float32), np.zeros((1, n, 1), np.float32),
                       np.zeros((1, n, 4), np.float32), np.zeros((1, n, 10), np.float32)]
    for (stride, row, col), (score, box, marks) in cells.items():
        index = row * (input_hw[1] // stride) + col
        cls, obj, bbox, kps = out[stride]
        cls[0, index], obj[0, index] = score, score  # the face's score: sqrt(cls * obj)
        bbox[0, index], kps[0, index] = box, marks
    return [out[stride][k] for k in range(4) for stride in STRIDES]


def test_decode_places_boxes_and_landmarks_by_cell_and_stride():
    marks = [0.0, 0.0, 1.0, 0.0, 0.5, 0.5, 0.0, 1.0, 1.0, 1.0]
    outputs = yunet_outputs((64, 96), {
        (8, 2, 5): (0.9, (0.5, 0.25, np.log(2), np.log(3)), marks),   # centre (44, 18), 16 x 24
        (16, 1, 2): (0.6, (0.75, 0.125, 0.0, np.log(1.5)), marks),    # the same face, weaker
        (32, 1, 2): (0.3, (0.0, 0.0, 0.0, 0.0), marks),               # under min_score
    })
    faces = decode_yunet(outputs, (64, 96), min_score=0.5)
    assert faces.xyxy.tolist() == [[36, 6, 52, 30]]  # the weaker duplicate is suppressed
    assert faces.score.tolist() == pytest.approx([0.9])
    assert faces.landmarks[0].tolist() == [[40, 16], [48, 16], [44, 20], [40, 24], [48, 24]]
    assert len(decode_yunet(yunet_outputs((64, 96), {}), (64, 96), 0.5)) == 0


@pytest.mark.models
def test_same_faces_as_opencv_on_the_shipped_file(yunet):
    """The derived float model on ONNX Runtime finds what OpenCV's own YuNet runner finds on
    the int8 file as shipped: same faces, boxes within a pixel, scores within 0.02."""
    frame = np.full((720, 1280, 3), 90, np.uint8)
    frame[:, :, 1] = np.linspace(40, 200, 1280, dtype=np.uint8)[None, :]
    for (x, y), side in zip(((100, 100), (400, 300), (900, 200), (1100, 600)), (20, 32, 60, 110)):
        frame[y:y + side, x:x + side] = cv2.resize(FACE, (side, side), interpolation=cv2.INTER_AREA)
    ours = yunet.run(frame)
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        opencv = cv2.FaceDetectorYN.create(str(models.model_path(models.YUNET_ORIGINAL)), "",
                                           (1280, 720), yunet.min_score, 0.3, 5000)
    finally:
        cv2.utils.logging.setLogLevel(level)
    _, rows = opencv.detect(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    theirs = np.concatenate([rows[:, :2], rows[:, :2] + rows[:, 2:4]], axis=1)
    assert len(ours) == len(theirs) >= 3
    order = np.argsort(-rows[:, 14])
    assert np.abs(ours.xyxy - theirs[order]).max() < 1.0
    assert np.abs(ours.score - rows[order, 14]).max() < 0.02
    assert np.abs(ours.landmarks - rows[order, 4:14].reshape(-1, 5, 2)).max() < 1.0


@pytest.mark.models
def test_real_face_found_like_centerface_finds_it(yunet, centerface):
    """Same face, same box (IoU > 0.8) and landmarks in CenterFace's order (image-left eye
    first, eyes above the nose, the nose above the mouth), so identity can align on them."""
    ours, theirs = yunet.detect(FACE, 128), centerface.detect(FACE, 128)
    assert len(ours) == 1 and ours.score[0] > 0.8
    assert iou_matrix(ours.xyxy, theirs.xyxy)[0, 0] > 0.8
    left_eye, right_eye, nose, mouth_left, mouth_right = ours.landmarks[0]
    assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
    assert np.abs(ours.landmarks[0] - theirs.landmarks[0]).max() < 8


@pytest.mark.models
def test_boxes_come_back_in_the_frame_pixels(yunet):
    frame = np.full((720, 1280, 3), 100, np.uint8)
    face = cv2.resize(FACE, (96, 96), interpolation=cv2.INTER_AREA)
    frame[300:396, 800:896] = face
    at_full, halved = yunet.detect(frame, 1280), yunet.detect(frame, 640)
    assert len(at_full) == 1 and len(halved) == 1
    assert iou_matrix(at_full.xyxy, halved.xyxy)[0, 0] > 0.8
    x1, y1, x2, y2 = at_full.xyxy[0]
    assert 800 <= (x1 + x2) / 2 <= 896 and 300 <= (y1 + y2) / 2 <= 396


class SideRecorder:
    """A fake detector that records the long side it was asked for and finds the boxes given
    (in frame pixels) when ``finds`` is set."""

    def __init__(self, finds=None, score: float = 0.9) -> None:
        self.sides: list[int] = []
        self.finds = np.asarray(finds if finds is not None else [], np.float32).reshape(-1, 4)
        self.score = score

    def detect(self, image_rgb: np.ndarray, max_side_px: int) -> FaceBoxes:
        self.sides.append(max_side_px)
        n = len(self.finds)
        return FaceBoxes(self.finds.copy(), np.full(n, self.score, np.float32),
                         np.full((n, 5, 2), np.nan, np.float32))


def test_full_resolution_passes_go_to_their_own_detector(tmp_path):
    """On a 1280x720 clip the base detector runs only at 640 px and the full-resolution
    detector only at 1280 px; a face only the latter finds is hidden in every frame (a 20-px
    face, 10 px at the base scale: padded a whole full-resolution interval at both ends of its
    track). What it reports at 24 px or more at the base scale (48 px here) is the base pass's
    to find, and is dropped."""
    face_xyxy = [600, 300, 620, 320]
    too_large = [100, 100, 100 + 2 * VIDEO_FULL_RES_MAX_BASE_FACE_PX, 140]

    def frame(i):
        image = draw_frame(1280, 720, i, [])
        rng = np.random.default_rng(i)
        image[300:320, 600:620] = rng.integers(0, 255, (20, 20, 3))
        return image

    source = make_video(tmp_path / "in.mp4", width=1280, height=720, frames=36, frame_fn=frame,
                        audio=None)
    base, full_res = SideRecorder(), SideRecorder(finds=[face_xyxy, too_large])
    out = tmp_path / "out.mp4"
    # Turned passes off: this fake finds its face however the frame is turned
    # (tests/pipeline/test_turned_video.py has the turned full-resolution pass).
    options = AnonymizeOptions(detect=DetectOptions(turn_probe_every_n_frames=0),
                               track=TrackOptions(box_scale=1.0, pad_s=0.0),
                               redact=RedactOptions(shape=RedactShape.BOX))
    report = anonymize_video(source, out, options, detector=base, full_res_detector=full_res)
    assert set(base.sides) == {640} and set(full_res.sides) == {1280}
    # Every 2nd detection frame in 720p: frames 0, 6, ..., 30 at 30 fps (detection every 3rd).
    assert len(full_res.sides) == 6
    assert len(report["tracks"]) == 1 and report["tracks"][0]["boxes"][0][1] > 500
    before, after = read_video(source), read_video(out)
    inner = (slice(302, 318), slice(602, 618))
    changed = [np.abs(a[inner].astype(int) - b[inner]).mean() > 10 for a, b in zip(before.frames, after.frames)]
    assert all(changed), f"visible in frames {[i for i, c in enumerate(changed) if not c]}"


def test_small_face_seen_by_both_passes_is_one_face_with_one_track(tmp_path):
    """CenterFace's box of a 20-px face at the base scale (10 px) can be twice the face, where
    the full-resolution pass boxes it tightly: IoU 0.25, under NMS's 0.3. They are one face:
    one track (one face in the review list, one hidden area), with the full-resolution pass's
    better score, and hidden in every frame."""
    tight, loose = [600, 300, 620, 320], [590, 290, 630, 330]

    def frame(i):
        image = draw_frame(1280, 720, i, [])
        image[300:320, 600:620] = np.random.default_rng(i).integers(0, 255, (20, 20, 3))
        return image

    source = make_video(tmp_path / "in.mp4", width=1280, height=720, frames=36, frame_fn=frame,
                        audio=None)
    base, full_res = SideRecorder(finds=[loose], score=0.4), SideRecorder(finds=[tight])
    options = AnonymizeOptions(detect=DetectOptions(turn_probe_every_n_frames=0),
                               track=TrackOptions(box_scale=1.0, pad_s=0.0),
                               redact=RedactOptions(shape=RedactShape.BOX))
    out = tmp_path / "out.mp4"
    report = anonymize_video(source, out, options, detector=base, full_res_detector=full_res)
    assert len(report["tracks"]) == 1
    scores = [row[5] for row in report["tracks"][0]["boxes"] if row[5] is not None]
    assert max(scores) == pytest.approx(0.9) and min(scores) == pytest.approx(0.4)
    before, after = read_video(source), read_video(out)
    inner = (slice(302, 318), slice(602, 618))
    changed = [np.abs(a[inner].astype(int) - b[inner]).mean() > 10 for a, b in zip(before.frames, after.frames)]
    assert all(changed), f"visible in frames {[i for i, c in enumerate(changed) if not c]}"


def test_absorb_contained_merges_only_boxes_lying_inside():
    """A box lying >= 70% inside another goes into the one it overlaps most, which grows to
    hold it and keeps the better score; a box half outside stays a face of its own."""
    outer = FaceBoxes(np.array([[0, 0, 40, 40], [100, 0, 140, 40]], np.float32),
                      np.array([0.4, 0.5], np.float32), np.full((2, 5, 2), np.nan, np.float32))
    inner = FaceBoxes(np.array([[10, 10, 30, 30], [30, 10, 50, 30], [120, 25, 140, 45]], np.float32),
                      np.array([0.9, 0.8, 0.7], np.float32), np.full((3, 5, 2), np.nan, np.float32))
    merged = absorb_contained(outer, inner)
    assert merged.xyxy.tolist() == [[0, 0, 40, 40], [100, 0, 140, 45], [30, 10, 50, 30]]
    assert merged.score.tolist() == pytest.approx([0.9, 0.7, 0.8])
