import numpy as np
import pytest

from app.pipeline.boxes import (clip_boxes, iou_matrix, nms, rotate_boxes_to_original,
                                rotate_points_to_original, scale_boxes)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([0, 0, 10, 10], [0, 0, 10, 10], 1.0),
        ([0, 0, 10, 10], [10, 10, 20, 20], 0.0),
        ([0, 0, 10, 10], [5, 0, 15, 10], 50 / 150),
        ([0, 0, 10, 10], [2, 2, 4, 4], 4 / 100),
        ([0, 0, 0, 0], [0, 0, 0, 0], 0.0),
    ],
)
def test_iou_matrix_pairs(a, b, expected):
    iou = iou_matrix(np.array([a], np.float32), np.array([b], np.float32))
    assert iou.shape == (1, 1)
    assert iou[0, 0] == pytest.approx(expected, abs=1e-6)


def test_iou_matrix_empty_has_right_shape():
    assert iou_matrix(np.zeros((0, 4)), np.zeros((3, 4))).shape == (0, 3)


def test_nms_keeps_best_of_overlapping_and_separate_boxes():
    xyxy = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    keep = nms(xyxy, np.array([0.5, 0.9, 0.4], np.float32), 0.3)
    assert list(keep) == [1, 2]


def greedy_nms(xyxy, score, max_iou):
    """The definition, written out: best first, drop what overlaps a kept box > max_iou."""
    keep, ious = [], iou_matrix(xyxy, xyxy)
    for i in np.argsort(-score, kind="stable"):
        if all(ious[i, k] <= max_iou for k in keep):
            keep.append(int(i))
    return keep


def test_nms_matches_the_greedy_definition_with_ties_and_empty_boxes():
    rng = np.random.default_rng(7)
    for trial in range(300):
        n = int(rng.integers(0, 40))
        xy = np.round(rng.uniform(0, 60, (n, 2)))
        wh = np.round(rng.uniform(0, 25, (n, 2)))  # some boxes have no width or height
        xyxy = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
        score = np.round(rng.uniform(0, 1, n), 1).astype(np.float32)  # many ties
        for max_iou in (0.3, 0.5):
            assert list(nms(xyxy, score, max_iou)) == greedy_nms(xyxy, score, max_iou)
    # equal scores: the earlier box wins; a box without area overlaps nothing and stays
    xyxy = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [5, 5, 5, 9]], np.float32)
    assert list(nms(xyxy, np.array([0.5, 0.5, 0.9], np.float32), 0.3)) == [2, 0]


@pytest.mark.parametrize(
    ("box", "factor", "expected"),
    [
        ([10, 10, 20, 20], 2.0, [5, 5, 25, 25]),
        ([10, 10, 20, 30], 1.0, [10, 10, 20, 30]),
        ([0, 0, 10, 10], 1.3, [-1.5, -1.5, 11.5, 11.5]),
    ],
)
def test_scale_boxes_around_centre(box, factor, expected):
    out = scale_boxes(np.array([box], np.float32), factor)
    np.testing.assert_allclose(out[0], expected, atol=1e-5)


def test_clip_boxes_to_frame():
    out = clip_boxes(np.array([[-5, -5, 200, 50]], np.float32), (100, 40))
    np.testing.assert_allclose(out[0], [0, 0, 100, 40])


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_rotate_boxes_to_original_round_trip(k):
    h, w = 30, 50
    image = np.zeros((h, w), np.uint8)
    image[5:12, 20:35] = 1  # a box at x 20..35, y 5..12
    rotated = np.rot90(image, k)
    ys, xs = np.nonzero(rotated)
    found = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
    back = rotate_boxes_to_original(found, k, (rotated.shape[1], rotated.shape[0]))
    np.testing.assert_allclose(back[0], [20, 5, 35, 12])


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_rotate_points_to_original_finds_the_same_pixels(k):
    """Landmarks found on a turned frame land on the same pixel centres of the frame itself."""
    h, w = 30, 50
    image = np.zeros((h, w), np.int32)
    spots_xy = np.array([[3, 4], [40, 7], [25, 22]], np.float32)
    for n, (x, y) in enumerate(spots_xy.astype(int), start=1):
        image[y, x] = n
    rotated = np.rot90(image, k)
    found = np.array([np.argwhere(rotated == n)[0][::-1] for n in (1, 2, 3)], np.float32) + 0.5
    back = rotate_points_to_original(found, k, (rotated.shape[1], rotated.shape[0]))
    np.testing.assert_allclose(back, spots_xy + 0.5)
