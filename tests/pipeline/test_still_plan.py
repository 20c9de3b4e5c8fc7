"""Photos: several passes of two detectors, combined by a vote, wider margins for small faces."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.pipeline.anonymize import detect_still, find_still_faces, still_hide_boxes
from app.pipeline.detect import merge_nms, mirror_faces, sure_faces, vote
from app.pipeline.schedule import (FAST_PHOTO_PLAN, STILL_PASSES, THOROUGH_PHOTO_PLAN,
                                   photo_quarter_turns, still_box_scales, still_hide_scales, still_plan)
from app.pipeline.types import FaceBoxes

FACE_PNG = Path(__file__).resolve().parents[1] / "data" / "face.png"


def faces(boxes, scores):
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    return FaceBoxes(boxes, np.asarray(scores, np.float32), np.zeros((len(boxes), 5, 2), np.float32))


class PassDetector:
    """Answers with a face only when shown the mirrored photo (recognised by a marker pixel),
    or only at a given detector input size; records the sizes it was asked for."""

    def __init__(self, xyxy, score, when):
        self.xyxy, self.score, self.when, self.sides = xyxy, score, when, []

    def detect(self, image_rgb, max_side_px):
        self.sides.append(max_side_px)
        if self.when(image_rgb, max_side_px):
            return faces([self.xyxy], [self.score])
        return FaceBoxes.empty()


def test_vote_keeps_sure_faces_and_faces_two_passes_agree_on():
    a = faces([[10, 10, 30, 30], [100, 100, 120, 120], [200, 10, 220, 30]], [0.25, 0.12, 0.12])
    b = faces([[101, 101, 121, 121], [300, 300, 320, 320]], [0.11, 0.5])
    kept = vote([a, b], [0.2, 0.7], 0.1, 0.3)
    centres = sorted(((x1 + x2) / 2, (y1 + y2) / 2) for x1, y1, x2, y2 in kept.xyxy)
    # sure alone (0.25 >= 0.2); agreed on (0.12 and 0.11, IoU > 0.3); 0.12 alone and
    # RetinaFace's 0.5 alone (< 0.7) are dropped.
    assert centres == [(20, 20), (110.5, 110.5)]
    # the two agreeing boxes merge into their union: never less hidden than either pass
    merged = kept.xyxy[np.argmax(kept.xyxy[:, 0])]
    assert merged.tolist() == [100, 100, 121, 121]


def test_sure_faces_are_those_a_pass_found_at_its_own_threshold():
    a = faces([[10, 10, 30, 30], [100, 100, 120, 120]], [0.25, 0.12])
    for retinaface_score, second_sure in ((0.11, False), (0.75, True)):
        b = faces([[101, 101, 121, 121]], [retinaface_score])
        kept = vote([a, b], [0.2, 0.7], 0.1, 0.3)
        by_x = np.argsort(kept.xyxy[:, 0])
        # CenterFace's 0.25 is sure alone; the agreed-on face only when RetinaFace is sure of it
        assert sure_faces(kept, [a, b], [0.2, 0.7], 0.3)[by_x].tolist() == [True, second_sure]
    assert len(sure_faces(FaceBoxes.empty(), [a], [0.2], 0.3)) == 0


def test_faces_no_pass_is_sure_of_get_narrower_margins_never_under_the_box():
    assert np.allclose(still_hide_scales([100, 100], [True, False], 1.3, 0.3), [1.3, 1.0])
    assert np.allclose(still_hide_scales([32, 32], [True, False], 1.3, 0.3), [1.9, 1.6])  # small faces
    assert np.allclose(still_hide_scales([100, 100], [True, False], 1.6, 0.3), [1.6, 1.3])  # --box-scale 1.6
    assert np.allclose(still_hide_scales([100, 100], [True, False], 1.1, 0.3), [1.1, 1.0])
    assert np.allclose(still_hide_scales([100, 100], [True, False], 0.9, 0.3), [0.9, 0.9])
    assert np.allclose(still_hide_scales([100, 100], [True, False], 1.2, 0.0), [1.2, 1.2])  # the fast plan
    two = faces([[100, 100, 200, 200], [400, 100, 500, 200]], [0.9, 0.15])
    hidden = still_hide_boxes(two, 1.3, (1000, 1000), np.array([True, False]), 0.3)
    assert hidden.tolist() == [[85, 85, 215, 215], [400, 100, 500, 200]]


def test_vote_scored_as_a_detector_keeps_the_best_box_unchanged():
    # The benchmark's recall table asks for plain NMS: the same faces, the best box of each.
    a = faces([[100, 100, 120, 120]], [0.12])
    b = faces([[101, 101, 121, 121]], [0.11])
    kept = vote([a, b], [0.2, 0.7], 0.1, 0.3, merge_nms)
    assert kept.xyxy.tolist() == [[100, 100, 120, 120]]
    assert kept.score.tolist() == pytest.approx([0.12])
    assert len(merge_nms(FaceBoxes.empty())) == 0


def test_vote_below_the_agreement_floor_is_dropped():
    a = faces([[0, 0, 20, 20]], [0.09])
    b = faces([[0, 0, 20, 20]], [0.09])
    assert len(vote([a, b], [0.2, 0.2], 0.1, 0.3)) == 0


def test_vote_can_ask_more_passes_to_agree():
    weak = [10, 10, 30, 30]
    sure = faces([[200, 200, 240, 240]], [0.9])
    for seen_by, kept_up_to in ((2, 1), (3, 2), (4, 3)):
        # the weak face (0.12) in seen_by of 5 passes; the sure one in the first pass only
        passes = [faces([weak] * (i < seen_by) + ([[200, 200, 240, 240]] if i == 0 else []),
                        [0.12] * (i < seen_by) + ([0.9] if i == 0 else [])) for i in range(5)]
        for min_agreeing in (1, 2, 3, 4):
            kept = vote(passes, [0.2] * 5, 0.1, 0.3, min_agreeing=min_agreeing)
            expected = [[10, 10, 30, 30]] * (min_agreeing <= kept_up_to) + sure.xyxy.tolist()
            assert sorted(kept.xyxy.tolist()) == expected, (seen_by, min_agreeing)


class SideDetector:
    """Answers one face, with one score, at the detector input sizes given (mirrored or not);
    records every (size, mirrored) it was asked for."""

    def __init__(self, answers):
        self.answers, self.asked = answers, []

    def detect(self, image_rgb, max_side_px):
        mirrored = bool(image_rgb[0, -1, 0] == 255)  # the marker, top-left, lands top-right
        self.asked.append((max_side_px, mirrored))
        if (max_side_px, mirrored) in self.answers:
            xyxy = [20, 20, 60, 60] if not mirrored else [1024 - 60, 20, 1024 - 20, 60]
            return faces([xyxy], [self.answers[(max_side_px, mirrored)]])
        return FaceBoxes.empty()


def test_thorough_plan_runs_every_pass_of_three_networks_and_asks_four_to_agree():
    image = np.zeros((768, 1024, 3), np.uint8)
    image[0, 0] = 255
    assert {p.detector for p in THOROUGH_PHOTO_PLAN.passes} == {"centerface", "retinaface", "yunet"}
    assert THOROUGH_PHOTO_PLAN.passes[0] == STILL_PASSES[0]  # the quarter-turn probe
    for answering, kept in ((3, False), (4, True)):
        # a weak face (0.15: under every network's own threshold) in `answering` passes
        centerface = SideDetector({(2048, False): 0.15, (512, False): 0.15})
        retinaface = SideDetector({(2048, True): 0.15})
        yunet = SideDetector({(1536, False): 0.15} if answering == 4 else {})
        found, sure = find_still_faces({"centerface": centerface, "retinaface": retinaface, "yunet": yunet},
                                       image)
        assert len(found) == int(kept)  # the thorough plan is the default
        assert not sure.any()  # kept by the vote alone: narrower margins
        # the fast plan has one of these passes (CenterFace at 2x) and never asks YuNet
        asked = list(yunet.asked)
        fast = detect_still({"centerface": centerface, "retinaface": retinaface, "yunet": yunet}, image,
                            plan=FAST_PHOTO_PLAN)
        assert len(fast) == 0 and yunet.asked == asked
    assert centerface.asked[4:9] == [(1536, False), (1024, True), (2048, False), (2048, True), (512, False)]
    assert retinaface.asked[:5] == [(1024, False), (2048, False), (512, False), (1024, True), (2048, True)]
    assert yunet.asked[:6] == [(1024, False), (1536, False), (2048, False), (1024, True),
                               (2048, True), (512, False)]


def test_mirror_faces_maps_boxes_back():
    found = mirror_faces(faces([[10, 5, 30, 25]], [0.9]), width=100)
    assert found.xyxy.tolist() == [[70, 5, 90, 25]]
    assert np.isnan(found.landmarks).all()


def test_plan_sizes_for_ordinary_small_and_phone_photos():
    assert [side for _, side in still_plan((768, 1024))] == [1024, 1536, 1024, 512, 1024, 2048]
    assert [side for _, side in still_plan((300, 400))] == [640, 960, 640, 320, 640, 1280]  # enlarged first
    # enlarged passes stop at 2,600 px: the 2x pass would repeat the 1.5x one
    assert [side for _, side in still_plan((1200, 1800))] == [1800, 2600, 1800, 900, 1800]
    # a phone photo is past the enlargement cap: the 1.5x pass would repeat the 1x pass
    phone = still_plan((3000, 4000))
    assert [(p.detector, p.mirrored, side) for p, side in phone] == [
        ("centerface", False, 4000), ("centerface", True, 4000), ("retinaface", False, 2000),
        ("retinaface", True, 4000)]
    assert {p.detector for p in STILL_PASSES} == {"centerface", "retinaface"}


def test_face_found_only_on_the_mirrored_photo_is_hidden_where_it_is():
    image = np.zeros((100, 200, 3), np.uint8)
    image[0, 199] = 255  # the marker lands at column 0 once mirrored
    # two passes of the mirrored photo agree (CenterFace's is below its own threshold)
    centerface = PassDetector([20, 40, 60, 80], 0.15, lambda im, side: im[0, 0, 0] == 255)
    retinaface = PassDetector([22, 40, 60, 80], 0.3, lambda im, side: im[0, 0, 0] == 255)
    found = detect_still({"centerface": centerface, "retinaface": retinaface}, image, plan=FAST_PHOTO_PLAN)
    assert len(found) == 1
    assert found.xyxy[0].tolist() == [140, 40, 180, 80]  # 200 - 60, 200 - 20 (the union)
    # CenterFace first runs at 640 px on the photo as given and turned 1, 2 and 3 quarters
    assert centerface.sides == [640] * 4 + [960, 640, 1280] and retinaface.sides == [320, 640]


def test_enlarged_pass_may_not_report_large_faces():
    image = np.zeros((400, 400, 3), np.uint8)
    # only the 1.5x pass (960 px) "sees" this 150-px face, with a sure score: dropped
    detector = PassDetector([100, 100, 250, 250], 0.9, lambda im, side: side == 960)
    assert len(detect_still({"centerface": detector}, image, plan=FAST_PHOTO_PLAN)) == 0
    small = PassDetector([100, 100, 140, 140], 0.9, lambda im, side: side == 960)
    assert len(detect_still({"centerface": small}, image, plan=FAST_PHOTO_PLAN)) == 1


def test_large_photo_runs_each_pass_once_and_a_pass_never_agrees_with_itself():
    image = np.zeros((3000, 4000, 3), np.uint8)
    # A weak unmirrored face seen at the photo's own size: one pass's opinion only (the 1.5x
    # pass would run at the same 4000 px and repeat it word for word).
    detector = PassDetector([100, 100, 140, 140], 0.15, lambda im, side: im[0, 0, 0] == 0)
    image[0, -1] = 255  # marks the mirrored photo
    assert len(detect_still({"centerface": detector}, image, plan=FAST_PHOTO_PLAN)) == 0
    assert detector.sides == [4000] * 4 + [4000]  # own size (as given and turned), mirrored


def turn_of(image) -> int | None:
    """Which quarter turn of a 100x200 photo marked at its top-left pixel this is (None when
    mirrored)."""
    marked = image[..., 0] == 255
    corners = {(0, 0): marked[0, 0], (-1, 0): marked[-1, 0], (0, -1): marked[0, -1], (-1, -1): marked[-1, -1]}
    wide = image.shape[:2] == (100, 200)
    where = next(c for c, m in corners.items() if m)
    return {(True, (0, 0)): 0, (True, (-1, -1)): 2, (False, (-1, 0)): 1, (False, (0, -1)): 3}.get((wide, where))


class TurnDetector:
    """Answers {turns: (xyxy in the turned photo, score)}; records the turns it was shown."""

    def __init__(self, answers):
        self.answers, self.seen = answers, []

    def detect(self, image_rgb, max_side_px):
        turns = turn_of(image_rgb)
        self.seen.append(turns)
        if turns in self.answers:
            xyxy, score = self.answers[turns]
            return faces([xyxy], [score])
        return FaceBoxes.empty()


def marked_photo():
    image = np.zeros((100, 200, 3), np.uint8)
    image[0, 0] = 255
    return image


def test_upside_down_photo_gets_the_whole_plan_turned_upright():
    # Faces only on the photo turned half a turn: a photo that was upside down.
    centerface = TurnDetector({2: ([20, 40, 60, 80], 0.9)})
    retinaface = TurnDetector({2: ([20, 40, 60, 80], 0.95)})
    found = detect_still({"centerface": centerface, "retinaface": retinaface}, marked_photo(),
                         plan=FAST_PHOTO_PLAN)
    assert found.xyxy.tolist() == [[140, 20, 180, 60]]  # (200 - 60, 100 - 80, 200 - 20, 100 - 40)
    # probes at 0-3 turns, then the rest of the plan on the upright (half-turned) photo
    assert centerface.seen == [0, 1, 2, 3, 2, None, 2] and retinaface.seen == [2, None]


def test_sure_turned_face_in_an_upright_photo_is_kept_and_a_weak_one_is_not():
    upright_face = ([150, 20, 190, 60], 0.9)
    for score, kept in ((0.5, True), (0.3, False)):
        # a face lying on its side (seen on the photo turned a quarter) beside an upright face
        centerface = TurnDetector({0: upright_face, 1: ([20, 120, 60, 160], score)})
        found = detect_still({"centerface": centerface}, marked_photo(), plan=FAST_PHOTO_PLAN)
        assert centerface.seen[4:] == [0, None, 0]  # the plan stays on the photo as given
        # turned back: x = 200 - y_turned, y = x_turned
        expected = [[150, 20, 190, 60]] + ([[40, 20, 80, 60]] if kept else [])
        assert sorted(found.xyxy.tolist()) == sorted(expected)
        # without quarter turns it is never seen
        assert len(detect_still({"centerface": centerface}, marked_photo(), quarter_turns=False,
                                plan=FAST_PHOTO_PLAN)) == 1
    # a stricter photo setting (--min-score 0.4) asks twice as much of turned faces: 0.8
    for score, count in ((0.7, 1), (0.85, 2)):
        centerface = TurnDetector({0: upright_face, 1: ([20, 120, 60, 160], score)})
        assert len(detect_still({"centerface": centerface}, marked_photo(), min_score=0.4,
                                plan=FAST_PHOTO_PLAN)) == count


def test_photo_quarter_turns_needs_a_clearly_better_turn():
    assert photo_quarter_turns([2.0, 0.4, 0.9, 0.0]) == 0
    assert photo_quarter_turns([0.5, 0.0, 3.1, 0.2]) == 2
    assert photo_quarter_turns([0.0, 0.0, 0.0, 0.8]) == 3
    assert photo_quarter_turns([1.0, 1.1, 0.0, 0.0]) == 0  # not 1.2 times the photo as given
    assert photo_quarter_turns([0.0, 0.2, 0.0, 0.0]) == 0  # not 0.3 more
    assert photo_quarter_turns([0.0, 0.0, 0.0, 0.0]) == 0
    assert photo_quarter_turns([0.0, 2.0, 2.0, 0.0]) == 1  # a tie goes to the fewest turns


def test_small_faces_get_wider_margins():
    assert np.allclose(still_box_scales([10, 32, 48, 64, 300]), [1.8, 1.8, 1.5, 1.2, 1.2])
    hidden = still_hide_boxes(faces([[100, 100, 120, 120], [200, 200, 300, 300]], [0.9, 0.9]), 1.2, (1000, 1000))
    assert hidden.tolist() == [[92, 92, 128, 128], [190, 190, 310, 310]]


@pytest.mark.models
def test_retinaface_finds_the_face_and_reports_weak_faces_too(retinaface):
    rgb = cv2.cvtColor(cv2.imread(str(FACE_PNG)), cv2.COLOR_BGR2RGB)
    found = retinaface.detect(rgb, max(rgb.shape[:2]))
    best = int(np.argmax(found.score))
    assert found.score[best] > 0.9
    x1, y1, x2, y2 = found.xyxy[best]
    h, w = rgb.shape[:2]
    assert x1 < w / 2 < x2 and y1 < h / 2 < y2 and (x2 - x1) > w / 3
    # The graph drops faces under 0.5 unless its floor is lowered in memory: a 32-px face on
    # a grey 256-px canvas scores about 0.4 and must still come out.
    canvas = np.full((256, 256, 3), 120, np.uint8)
    canvas[100:132, 100:132] = cv2.resize(rgb, (32, 32), interpolation=cv2.INTER_AREA)
    weak = retinaface.detect(canvas, 256)
    assert len(weak) == 1 and retinaface.min_score <= weak.score[0] < 0.5
    assert weak.xyxy[0, 0] < 116 < weak.xyxy[0, 2]


class OverlapDetector:
    """A detector that may be called from two threads at once: records the most calls that
    ran together (each call waits briefly for a second one to arrive)."""

    concurrent_calls = 2

    def __init__(self):
        import threading

        self.lock, self.arrived = threading.Lock(), threading.Event()
        self.running = self.most = self.calls = 0
        self.sides = []

    def detect(self, image_rgb, max_side_px):
        with self.lock:
            self.sides.append(max_side_px)
            self.running += 1
            self.calls += 1
            self.most = max(self.most, self.running)
            if self.running >= 2:
                self.arrived.set()
        self.arrived.wait(1.0)
        with self.lock:
            self.running -= 1
        return FaceBoxes.empty()


def test_passes_of_a_photo_run_two_at_once_when_the_detectors_allow_it():
    detector = OverlapDetector()
    detect_still({"centerface": detector, "retinaface": detector}, np.zeros((100, 200, 3), np.uint8),
                 plan=FAST_PHOTO_PLAN)
    assert detector.calls == 4 + 5  # the probe's four turns, then the five other passes
    assert detector.most == 2
    # the largest inputs start first (CenterFace at 2x and 1.5x), so the two threads end together
    assert detector.sides[:4] == [640] * 4 and sorted(detector.sides[4:6]) == [960, 1280]


@pytest.mark.models
def test_passes_run_at_once_find_the_same_faces_as_one_at_a_time(centerface, retinaface, yunet):
    # (the fixtures skip this test where a model is not installed)
    from app.pipeline.anonymize import PHOTO_OPTIONS, load_photo_detectors
    from app.pipeline.detect import CenterFace, concurrent_calls, default_threads
    from app.pipeline.retinaface import RetinaFace
    from app.pipeline.yunet import YuNet

    at_once = load_photo_detectors(PHOTO_OPTIONS)
    assert concurrent_calls(*at_once.values()) == default_threads()  # 2 on 2 cores
    floor = PHOTO_OPTIONS.detect.min_score / 2
    threads = default_threads()
    one_at_a_time = {"centerface": CenterFace(floor, threads=threads),
                     "retinaface": RetinaFace(floor, threads=threads), "yunet": YuNet(floor, threads=threads)}
    assert concurrent_calls(*one_at_a_time.values()) == 1
    face = cv2.cvtColor(cv2.imread(str(FACE_PNG)), cv2.COLOR_BGR2RGB)
    photo = np.full((480, 640, 3), 110, np.uint8)
    for (x, y), side in (((40, 60), 160), ((300, 200), 48), ((500, 80), 24)):
        photo[y:y + side, x:x + side] = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
    found, sure = find_still_faces(at_once, photo)
    expected, expected_sure = find_still_faces(one_at_a_time, photo)
    assert len(found) >= 2
    assert np.array_equal(found.xyxy, expected.xyxy) and np.array_equal(found.score, expected.score)
    assert np.array_equal(sure, expected_sure)
