"""People lying down or upside down in video: the quarter-turn passes of the schedule.

The fake detector sees a "face" (red over blue) only when it is upright in the image it is
given, as CenterFace mostly sees faces only upright; the engine must turn frames to find it.
"""

import threading
import time
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest

from app.pipeline.anonymize import anonymize_video, detection_plan
from app.pipeline.progress import Cancelled
from app.pipeline.boxes import scale_boxes
from app.pipeline.decode import probe_video
from app.pipeline.schedule import VideoDetectionPlan, video_plan
from app.pipeline.types import AnonymizeOptions, DetectOptions, FaceBoxes, RedactOptions, RedactShape, TrackOptions
from tests.media import draw_frame, make_video, read_video

FACE_PX = 32
OPTIONS = AnonymizeOptions(track=TrackOptions(box_scale=1.0, pad_s=0.0),
                           redact=RedactOptions(shape=RedactShape.BOX))


def face_patch(turns: int) -> np.ndarray:
    """A "face" (red top half, blue bottom half, some texture) that the frame turned
    counter-clockwise by ``turns`` quarters shows upright."""
    rng = np.random.default_rng(7)
    patch = rng.integers(0, 80, (FACE_PX, FACE_PX, 3)).astype(np.uint8)
    patch[: FACE_PX // 2, :, 0] += 170
    patch[FACE_PX // 2:, :, 2] += 170
    return np.ascontiguousarray(np.rot90(patch, -turns))


class UprightFaceDetector:
    """Finds the red-over-blue square only where red is above blue: turned, it is no face."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image_rgb: np.ndarray, max_side_px: int) -> FaceBoxes:
        self.calls += 1
        image = image_rgb.astype(np.int16)
        red = (image[..., 0] > 150) & (image[..., 2] < 90)
        blue = (image[..., 2] > 150) & (image[..., 0] < 90)
        if red.sum() < 64 or blue.sum() < 64:
            return FaceBoxes.empty()
        (ry, rx), (by, bx) = (np.argwhere(m).mean(axis=0) for m in (red, blue))
        if not (by - ry > FACE_PX / 4 and abs(bx - rx) < FACE_PX / 4):
            return FaceBoxes.empty()
        ys, xs = np.nonzero(red | blue)
        xyxy = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
        return FaceBoxes(xyxy, np.array([0.9], np.float32), np.full((1, 5, 2), np.nan, np.float32))


def lying_face_clip(path, turns: int, first_frame: int = 0, frames: int = 60):
    """A 30 fps clip with face_patch(turns) at (60, 40), from first_frame on."""
    def frame(i):
        image = draw_frame(160, 120, i, [])
        if i >= first_frame:
            image[40:40 + FACE_PX, 60:60 + FACE_PX] = face_patch(turns)
        return image
    return make_video(path, frames=frames, frame_fn=frame)


def hidden_frames(source, out) -> list[bool]:
    """Per frame: the face's texture is gone (mean change > 10 of 255; the re-encode alone
    changes it by about 4)."""
    before, after = read_video(source), read_video(out)
    inner = (slice(42, 38 + FACE_PX), slice(62, 58 + FACE_PX))
    return [bool(np.abs(a[inner].astype(int) - b[inner]).mean() > 10)
            for a, b in zip(before.frames, after.frames)]


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_face_lying_or_upside_down_hidden_in_every_frame(tmp_path, turns):
    source = lying_face_clip(tmp_path / "in.mp4", turns)
    out = tmp_path / "out.mp4"
    detector = UprightFaceDetector()
    anonymize_video(source, out, OPTIONS, detector=detector)
    assert all(hidden_frames(source, out))
    # The first frame gets all three turns; the one that finds the face then runs on every
    # detection frame (every 3rd: 20), the two others only at their probes (frames 15-45).
    assert detector.calls == 20 + 20 + 2 + 2


def test_without_turned_passes_the_lying_face_is_left_visible(tmp_path):
    source = lying_face_clip(tmp_path / "in.mp4", 1)
    out = tmp_path / "out.mp4"
    upright_only = AnonymizeOptions(detect=DetectOptions(turn_probe_every_n_frames=0),
                                    track=OPTIONS.track, redact=OPTIONS.redact)
    anonymize_video(source, out, upright_only, detector=UprightFaceDetector())
    assert not any(hidden_frames(source, out))


def test_upright_face_is_not_found_twice(tmp_path):
    source = lying_face_clip(tmp_path / "in.mp4", 0, frames=30)
    report = anonymize_video(source, tmp_path / "out.mp4", OPTIONS, detector=UprightFaceDetector())
    assert len(report["tracks"]) == 1


def test_face_appearing_between_probes_hidden_from_its_first_frame(tmp_path):
    """At 30 fps turn 1 is probed on frames 0, 45, 90...: a lying face that appears on frame 20
    is first found on frame 45, and its track is padded back a whole probe cycle."""
    source = lying_face_clip(tmp_path / "in.mp4", 1, first_frame=20, frames=75)
    plan = detection_plan(probe_video(source), OPTIONS)
    assert plan.turns_for_frame(45, {}) == (1,) and plan.turn_cycle_frames == 45
    out = tmp_path / "out.mp4"
    report = anonymize_video(source, out, OPTIONS, detector=UprightFaceDetector())
    hidden = hidden_frames(source, out)
    assert all(hidden[20:]), [i for i, h in enumerate(hidden) if not h]
    (track,) = report["tracks"]
    assert track["first_frame"] <= 20


def test_lying_face_that_leaves_is_unhidden_after_one_detection_interval(tmp_path):
    """Before a face a turned pass found, its track is padded a whole probe cycle (it may have
    been there since that turn's last probe); after it, only a detection interval: that turn
    keeps running on every detection frame, and would have seen the face had it stayed. The
    wall behind a face that left shows again within 3 frames, not 45."""
    wall = np.repeat(np.random.default_rng(3).integers(0, 255, (FACE_PX, FACE_PX, 1), np.uint8), 3, axis=2)

    def frame(i):
        image = draw_frame(160, 120, i, [])
        image[40:40 + FACE_PX, 60:60 + FACE_PX] = face_patch(1) if i < 30 else wall
        return image
    source = make_video(tmp_path / "in.mp4", frames=90, frame_fn=frame)
    out = tmp_path / "out.mp4"
    report = anonymize_video(source, out, OPTIONS, detector=UprightFaceDetector())
    hidden = hidden_frames(source, out)
    assert all(hidden[:30]), [i for i, h in enumerate(hidden) if not h]
    assert not any(hidden[33:]), [i for i, h in enumerate(hidden) if h]
    (track,) = report["tracks"]
    assert track["last_frame"] == 27 + 3


def test_turn_probes_cycle_and_found_turns_stay_on():
    plan = video_plan(1280, 720, 30)
    assert (plan.detect_every_n_frames, plan.turn_probe_every_n_frames) == (3, 15)
    probes = {i: plan.turns_for_frame(i, {}) for i in range(0, 90, 3)}
    assert {i: t for i, t in probes.items() if t} == {0: (1,), 15: (2,), 30: (3,), 45: (1,),
                                                      60: (2,), 75: (3,)}
    # Turn 3 found a face on frame 30: it runs on every detection frame for a cycle (45 frames).
    assert plan.turns_for_frame(33, {3: 30}) == (3,)
    assert plan.turns_for_frame(45, {3: 30}) == (1, 3)
    assert plan.turns_for_frame(72, {3: 30}) == (3,)
    assert plan.turns_for_frame(75, {3: 30}) == (3,)  # probed here anyway
    assert plan.turns_for_frame(78, {3: 30}) == ()


def test_turn_probe_schedule_validated_and_overridable():
    with pytest.raises(ValueError, match="turn_probe_every_n_frames"):
        VideoDetectionPlan(640, 3, 15, 1280, turn_probe_every_n_frames=10)
    with pytest.raises(ValueError, match="turn_probe_every_n_frames"):
        DetectOptions(turn_probe_every_n_frames=-1)
    assert video_plan(640, 360, 25).turn_probe_every_n_frames == 12


class AnyWayFaceDetector(UprightFaceDetector):
    """Finds the face however it lies, as CenterFace finds many faces turned a quarter: at
    ``upright_score`` where it is upright in the image it is given, else at ``other_score``
    with a box 30% too large."""

    def __init__(self, upright_score: float, other_score: float) -> None:
        super().__init__()
        self.upright_score, self.other_score = upright_score, other_score

    def detect(self, image_rgb: np.ndarray, max_side_px: int) -> FaceBoxes:
        upright = super().detect(image_rgb, max_side_px)
        if len(upright):
            return FaceBoxes(upright.xyxy, np.array([self.upright_score], np.float32), upright.landmarks)
        ys, xs = np.nonzero((image_rgb[..., 0] > 150) | (image_rgb[..., 2] > 150))
        if len(xs) < 64:
            return FaceBoxes.empty()
        xyxy = scale_boxes(np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32), 1.3)
        return FaceBoxes(xyxy, np.array([self.other_score], np.float32), np.full((1, 5, 2), np.nan, np.float32))


def test_upright_face_seen_on_turned_frames_keeps_its_own_box(tmp_path):
    """A sure upright face that a turned pass finds too (with a looser box) is the same face:
    its hidden area is not grown, and the turn is not kept running on every detection frame."""
    source = lying_face_clip(tmp_path / "in.mp4", 0, frames=60)
    detector = AnyWayFaceDetector(upright_score=0.9, other_score=0.8)
    report = anonymize_video(source, tmp_path / "out.mp4", OPTIONS, detector=detector)
    (track,) = report["tracks"]
    assert {tuple(round(v) for v in box[1:5]) for box in track["boxes"]} == {(60, 40, 92, 72)}
    assert detector.calls == 20 + 3 + 3  # 20 detection frames; 3 turns on frame 0, probes on 15, 30, 45


def test_lying_face_found_weakly_upright_gets_its_turned_box(tmp_path):
    """A lying face the upright pass finds only weakly (0.35): the turned pass's find counts,
    and its turn runs on every detection frame."""
    source = lying_face_clip(tmp_path / "in.mp4", 1, frames=60)
    out = tmp_path / "out.mp4"
    detector = AnyWayFaceDetector(upright_score=0.9, other_score=0.35)
    anonymize_video(source, out, OPTIONS, detector=detector)
    assert all(hidden_frames(source, out))
    assert detector.calls == 20 + 20 + 2 + 2  # turn 1 from frame 0 on; turns 2, 3 on frame 0, 15, 30


class LooseBoxDetector(UprightFaceDetector):
    """Also reports a weak (0.4) 80-px false face that only partly overlaps the lying face,
    on frames whose top-left corner is green (upright frames 30-36 only: turned, the corner
    moves)."""

    def detect(self, image_rgb: np.ndarray, max_side_px: int) -> FaceBoxes:
        faces = super().detect(image_rgb, max_side_px)
        corner = image_rgb[:6, :6].astype(np.int16)
        if (corner[..., 1] > 200).all() and (corner[..., [0, 2]] < 60).all():
            loose = FaceBoxes(np.array([[40, 20, 120, 100]], np.float32), np.array([0.4], np.float32),
                              np.full((1, 5, 2), np.nan, np.float32))
            faces = FaceBoxes.concatenate([faces, loose])
        return faces


def test_false_face_touching_a_lying_face_is_not_padded_a_turn_cycle(tmp_path):
    """A track counts as found by a turned pass (and is padded back a whole probe cycle, 45
    frames) only when it is the turned face, not when its box merely touches it."""
    def frame(i):
        image = draw_frame(160, 120, i, [])
        image[40:40 + FACE_PX, 60:60 + FACE_PX] = face_patch(1)
        if 30 <= i <= 36:
            image[:8, :8] = (0, 255, 0)
        return image
    source = make_video(tmp_path / "in.mp4", frames=60, frame_fn=frame)
    out = tmp_path / "out.mp4"
    report = anonymize_video(source, out, OPTIONS, detector=LooseBoxDetector())
    assert all(hidden_frames(source, out))
    # The weak loose box is grown 0.3 more (track.WEAK_DETECTION_EXTRA_SCALE): 104 px.
    (face,), (loose,) = ([t for t in report["tracks"] if (t["boxes"][0][3] - t["boxes"][0][1] > 60) == is_loose]
                         for is_loose in (False, True))
    # Seen on frames 30, 33, 36: padded by one detection interval (pad_s is 0), not 45 frames.
    assert (loose["first_frame"], loose["last_frame"]) == (27, 39)
    assert face["first_frame"] == 0


class NoFaceDetector:
    def detect(self, image_rgb: np.ndarray, max_side_px: int) -> FaceBoxes:
        return FaceBoxes.empty()


@pytest.mark.parametrize("turns", [1, 2])
def test_small_lying_face_found_by_the_turned_full_resolution_pass(tmp_path, turns):
    """A 32-px face lying or upside down in a 1280x720 clip is 16 px at the base scale (640 px),
    too small for the base pass: the full-resolution detector must look at the turned frame
    too. Without that pass the face stays visible in every frame."""
    def frame(i):
        image = draw_frame(1280, 720, i, [])
        image[300:300 + FACE_PX, 600:600 + FACE_PX] = face_patch(turns)
        return image
    source = make_video(tmp_path / "in.mp4", width=1280, height=720, frames=45, frame_fn=frame, audio=None)
    out = tmp_path / "out.mp4"
    anonymize_video(source, out, OPTIONS, detector=NoFaceDetector(), full_res_detector=UprightFaceDetector())
    before, after = read_video(source), read_video(out)
    inner = (slice(302, 298 + FACE_PX), slice(602, 598 + FACE_PX))
    changed = [np.abs(a[inner].astype(int) - b[inner]).mean() > 10 for a, b in zip(before.frames, after.frames)]
    assert all(changed), f"visible in frames {[i for i, c in enumerate(changed) if not c]}"


def test_full_resolution_turns_probe_one_turn_about_twice_a_second():
    plan = video_plan(1280, 720, 30)
    assert plan.full_res_every_n_frames == 6 and plan.full_res_turn_probe_every_n_frames == 12
    assert plan.full_res_turn_cycle_frames == 36
    assert [plan.full_res_turns_for_frame(i, {}) for i in (0, 12, 24, 36)] == [(1,), (2,), (3,), (1,)]
    assert plan.full_res_turns_for_frame(6, {}) == ()  # a full-resolution frame, no probe
    assert plan.full_res_turns_for_frame(3, {}) == ()  # not a full-resolution frame
    # Turn 2 found a small face on frame 12: it runs on every full-resolution frame for a cycle.
    assert [plan.full_res_turns_for_frame(i, {2: 12}) for i in (18, 24, 36, 42, 48, 60)] == [
        (2,), (2, 3), (1, 2), (2,), (2,), (3,)]
    assert video_plan(640, 360, 30).full_res_turns_for_frame(0, {}) == ()  # no full-resolution pass
    with pytest.raises(ValueError, match="full_res_turn_probe_every_n_frames"):
        VideoDetectionPlan(640, 3, 6, 1280, 15, full_res_turn_probe_every_n_frames=15)


@pytest.mark.parametrize(("size_wh", "fps", "full_every", "full_turn_every"), [
    ((960, 540), 25, 2, 12),     # every detection frame: the pass is cheap at this size
    ((826, 540), 25, 2, 12),
    ((854, 480), 24, 2, 12),
    ((1280, 720), 30, 6, 12),    # every 2nd detection frame
    ((720, 1280), 30, 6, 12),    # portrait: the same area
    ((1280, 720), 25, 4, 12),
    ((844, 844), 25, 4, 12),     # square: 1.4x the area of 960x540, so every 2nd detection frame
    ((1920, 1080), 30, 12, 12),  # 2.5 times a second
    ((3840, 2160), 30, 12, 12),  # detected at 1920 px at most
])
def test_full_resolution_pass_runs_as_often_as_its_cost_allows(size_wh, fps, full_every, full_turn_every):
    plan = video_plan(*size_wh, fps)
    assert (plan.full_res_every_n_frames, plan.full_res_turn_probe_every_n_frames) == (full_every, full_turn_every)
    assert plan.full_res_every_n_frames % plan.detect_every_n_frames == 0
    # A detection plan with other settings keeps the full-resolution frames detection frames.
    info = SimpleNamespace(width=size_wh[0], height=size_wh[1], average_rate=Fraction(fps))
    overridden = detection_plan(info, AnonymizeOptions(detect=DetectOptions(detect_every_n_frames=4)))
    assert overridden.full_res_every_n_frames % 4 == 0
    assert overridden.full_res_turn_probe_every_n_frames % overridden.full_res_every_n_frames == 0


class ParallelUprightFaceDetector(UprightFaceDetector):
    """UprightFaceDetector that may be called from ``concurrent_calls`` threads at once, and
    takes long enough (delay_s) for frames to overlap. Records the most calls seen at once."""

    def __init__(self, concurrent_calls: int, delay_s: float = 0.01) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.concurrent_calls = concurrent_calls
        self.lock = threading.Lock()
        self.active = self.most_active = self.started = 0

    def detect(self, image_rgb: np.ndarray, max_side_px: int) -> FaceBoxes:
        with self.lock:
            self.started += 1
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        time.sleep(self.delay_s)
        try:
            return super().detect(image_rgb, max_side_px)
        finally:
            with self.lock:
                self.active -= 1


@pytest.mark.parametrize("first_frame", [0, 20])
def test_frames_detected_at_once_get_the_passes_of_one_at_a_time(tmp_path, first_frame):
    """Detection frames run several at once when the detector allows it. A frame started
    before the one ahead of it found a lying face still gets that face's turn: the same calls,
    the same tracks and every frame hidden, as one frame at a time."""
    source = lying_face_clip(tmp_path / "in.mp4", 1, first_frame=first_frame, frames=75)
    reports, calls = {}, {}
    for workers in (1, 2, 3):
        detector = ParallelUprightFaceDetector(workers)
        out = tmp_path / f"out{workers}.mp4"
        reports[workers] = anonymize_video(source, out, OPTIONS, detector=detector)
        calls[workers] = detector.calls
        assert detector.most_active == workers
        hidden = hidden_frames(source, out)
        assert all(hidden[first_frame:]), [i for i, h in enumerate(hidden) if not h]
    assert calls[2] == calls[3] == calls[1]
    assert reports[2]["tracks"] == reports[3]["tracks"] == reports[1]["tracks"]


def test_cancel_drops_the_frames_queued_for_detection(tmp_path):
    """Cancelled while frames wait for the detection threads: those frames are not detected
    (only the ones already running finish), and nothing is written."""
    source = lying_face_clip(tmp_path / "in.mp4", 0, frames=60)
    out = tmp_path / "out.mp4"
    detector = ParallelUprightFaceDetector(2, delay_s=0.05)
    started_at_cancel = []

    def should_cancel():
        started_at_cancel.append(detector.started)
        return True
    one_pass = AnonymizeOptions(detect=DetectOptions(turn_probe_every_n_frames=0),
                                track=OPTIONS.track, redact=OPTIONS.redact)
    with pytest.raises(Cancelled):
        anonymize_video(source, out, one_pass, detector=detector, progress=lambda p: None,
                        should_cancel=should_cancel)
    assert not out.exists()
    # Cancelled when frame 0 was taken up, with 7 more detection frames submitted (one pass
    # each): the running ones finish, the queued ones never start. (Frames 0 and 3 start and
    # end together, so the thread of frame 3 may take one more frame as the cancel comes.)
    assert started_at_cancel[0] <= 4
    assert detector.started <= started_at_cancel[0] + 1
