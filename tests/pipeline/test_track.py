import numpy as np
import pytest

from app.pipeline.detect import without_weak_echoes
from app.pipeline.track import (RawTrack, Tracker, boxes_per_frame, finalize_track,
                                scene_bounds)
from app.pipeline.types import FaceBoxes, TrackOptions


def faces(*boxes):
    xyxy = np.array(boxes, np.float32).reshape(-1, 4)
    n = len(xyxy)
    return FaceBoxes(xyxy, np.full(n, 0.9, np.float32), np.zeros((n, 5, 2), np.float32))


def raw(frames, boxes):
    track = RawTrack(1)
    for f, b in zip(frames, boxes):
        track.add(f, np.array(b, np.float32), 0.9)
    return track


NO_GROW = TrackOptions(box_scale=1.0, pad_s=0.0)


def test_tracker_follows_two_faces_moving_apart():
    tracker = Tracker(max_gap_frames=5)
    ids = [tracker.update(i, faces([10 + 3 * i, 10, 40 + 3 * i, 40], [200 - 3 * i, 10, 230 - 3 * i, 40]))
           for i in range(10)]
    assert all(list(x) == list(ids[0]) for x in ids)
    assert len(tracker.finish()) == 2


def test_tracker_links_across_gap_but_not_beyond_max_gap():
    tracker = Tracker(max_gap_frames=3)
    a = tracker.update(0, faces([10, 10, 40, 40]))
    b = tracker.update(4, faces([12, 10, 42, 40]))  # 3 frames missed: same track
    c = tracker.update(9, faces([14, 10, 44, 40]))  # 4 frames missed: new track
    assert a[0] == b[0] != c[0]


def test_tracker_ends_tracks_at_scene_cut():
    tracker = Tracker(max_gap_frames=10)
    a = tracker.update(0, faces([10, 10, 40, 40]))
    b = tracker.update(1, faces([10, 10, 40, 40]), is_cut=True)
    assert a[0] != b[0]


def test_tracker_follows_fast_motion_when_frames_are_skipped():
    tracker = Tracker(max_gap_frames=10)
    ids = [tracker.update(i, faces([10 + 10 * i, 10, 40 + 10 * i, 40]))[0] for i in range(0, 12, 3)]
    assert len(set(ids)) == 1


def test_finalize_fills_gaps_by_interpolation():
    track = finalize_track(raw([0, 4], [[0, 0, 10, 10], [8, 0, 18, 10]]), 10, [], 30.0,
                           NO_GROW, (100, 100))
    assert list(track.frame_index) == [0, 1, 2, 3, 4]
    assert list(track.is_detected) == [True, False, False, False, True]
    assert np.isnan(track.score[2]) and track.score[0] == pytest.approx(0.9)
    # Centre of the filled box at frame 2 is halfway; filled boxes get a motion margin.
    centre = (track.xyxy[2, 0] + track.xyxy[2, 2]) / 2
    assert centre == pytest.approx(9.0)
    assert track.xyxy[2, 2] - track.xyxy[2, 0] > 10


def test_finalize_pads_before_and_after_clipped_to_video():
    options = TrackOptions(box_scale=1.0, pad_s=0.1)  # 3 frames at 30 fps
    track = finalize_track(raw([1, 5], [[0, 0, 10, 10], [0, 0, 10, 10]]), 7, [], 30.0, options,
                           (100, 100))
    assert track.first_frame == 0 and track.last_frame == 6
    np.testing.assert_allclose(track.xyxy[0], [0, 0, 10, 10])


def test_finalize_padding_holds_every_box_seen_within_a_pad():
    """Before its first detection the face was not seen: the padding holds the union of the
    boxes detected within one pad (3 frames), not the first box alone."""
    options = TrackOptions(box_scale=1.0, pad_s=0.1)  # 3 frames at 30 fps
    boxes = [[20, 20, 30, 26], [18, 16, 30, 30], [40, 40, 50, 50], [60, 60, 70, 70], [62, 58, 72, 70]]
    track = finalize_track(raw([10, 12, 20, 28, 30], boxes), 40, [], 30.0, options, (100, 100))
    assert track.first_frame == 7 and track.last_frame == 33
    for before in range(7, 10):
        np.testing.assert_allclose(track.xyxy[before - 7], [18, 16, 30, 30])
    for after in range(31, 34):
        np.testing.assert_allclose(track.xyxy[after - 7], [60, 58, 72, 70])
    np.testing.assert_allclose(track.xyxy[10 - 7], [20, 20, 30, 26])  # detected frames as found


def test_finalize_padding_stops_at_scene_cuts():
    options = TrackOptions(box_scale=1.0, pad_s=1.0)
    track = finalize_track(raw([12, 14], [[0, 0, 10, 10]] * 2), 40, [10, 20], 30.0, options,
                           (100, 100))
    assert track.first_frame == 10 and track.last_frame == 19


def test_finalize_grows_boxes_and_clips_to_frame():
    options = TrackOptions(box_scale=2.0, pad_s=0.0)
    track = finalize_track(raw([0], [[0, 0, 10, 10]]), 1, [], 30.0, options, (100, 100))
    np.testing.assert_allclose(track.xyxy[0], [0, 0, 15, 15])


@pytest.mark.parametrize(("frame", "expected"), [(0, (0, 9)), (10, (10, 19)), (25, (20, 29))])
def test_scene_bounds(frame, expected):
    assert scene_bounds(frame, [10, 20], 30) == expected


def test_boxes_per_frame_lists_every_covered_frame():
    track = finalize_track(raw([2, 3], [[0, 0, 10, 10]] * 2), 6, [], 30.0, NO_GROW, (50, 50))
    per_frame = boxes_per_frame([track], 6)
    assert [len(b) for b in per_frame] == [0, 0, 1, 1, 0, 0]


def test_tracker_rejects_negative_gap():
    with pytest.raises(ValueError, match="max_gap_frames"):
        Tracker(max_gap_frames=-1)


@pytest.mark.parametrize(("size_px", "expected_side_px"), [(20, 20 * 1.6), (36, 36 * 1.3), (48, 48), (80, 80)])
def test_small_faces_get_a_wider_hidden_area(size_px, expected_side_px):
    """The whole small-face margin (0.6) up to small_face_px[0], half of it half-way, none from
    small_face_px[1] up."""
    box = [100, 100, 100 + size_px, 100 + size_px]
    track = finalize_track(raw([0], [box]), 1, [], 30.0, NO_GROW, (400, 400), small_face_px=(24, 48))
    x1, y1, x2, y2 = track.xyxy[0]
    assert x2 - x1 == pytest.approx(expected_side_px) and y2 - y1 == pytest.approx(expected_side_px)
    assert (x1 + x2) / 2 == pytest.approx(100 + size_px / 2)


def scored(track_id, scores):
    track = RawTrack(track_id)
    for i, score in enumerate(scores):
        track.add(3 * i, np.array([10, 10, 40, 40], np.float32), score)
    return track


def test_confirmed_tracks_are_sure_faces_and_weak_faces_seen_again():
    tracks = [scored(1, [0.25]), scored(2, [0.35]), scored(3, [0.25, 0.22]),
              scored(4, [0.9, 0.21, 0.21]), scored(5, [0.29])]
    kept = [t for t in tracks if t.is_confirmed(sure_score=0.3, min_weak_detections=2)]
    assert [t.track_id for t in kept] == [2, 3, 4]
    assert kept[2].score == [0.9, 0.21, 0.21]  # a sure track keeps its weak detections
    assert [t.track_id for t in tracks if t.is_confirmed(0.3, 3)] == [2, 4]


def scored_faces(*rows):
    """(x1, y1, x2, y2, score) rows -> FaceBoxes."""
    rows = np.array(rows, np.float32).reshape(-1, 5)
    return FaceBoxes(rows[:, :4], rows[:, 4], np.zeros((len(rows), 5, 2), np.float32))


def test_sure_detection_goes_to_its_confirmed_track_before_a_weak_one():
    """A weak track started beside a face (predicted closer to where the face is now) must not
    take the face's sure detection: the face stays one track."""
    tracker = Tracker(max_gap_frames=10, sure_score=0.3, min_weak_detections=2)
    face = tracker.update(0, scored_faces([100, 100, 140, 140, 0.9]))[0]
    tracker.update(3, scored_faces([100, 100, 140, 140, 0.9], [125, 100, 165, 140, 0.25]))
    # The face moved right, onto the weak box: the weak track matches it best.
    ids = tracker.update(6, scored_faces([122, 100, 162, 140, 0.9]))
    assert ids[0] == face
    without_priority = Tracker(max_gap_frames=10)
    without_priority.update(0, scored_faces([100, 100, 140, 140, 0.9]))
    weak = without_priority.update(3, scored_faces([100, 100, 140, 140, 0.9], [125, 100, 165, 140, 0.25]))[1]
    assert without_priority.update(6, scored_faces([122, 100, 162, 140, 0.9]))[0] == weak


def test_weak_echo_of_a_sure_face_is_dropped_other_weak_faces_kept():
    faces = scored_faces([100, 100, 140, 140, 0.9],   # a sure face
                         [110, 90, 170, 150, 0.25],   # a loose weak box half on it: its echo
                         [300, 100, 340, 140, 0.25],  # a weak face elsewhere
                         [135, 100, 175, 140, 0.4])   # a sure face beside it, kept
    kept = without_weak_echoes(faces, sure_score=0.3)
    assert kept.xyxy[:, 0].tolist() == [100, 300, 135]
