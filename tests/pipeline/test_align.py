import cv2
import numpy as np
import pytest

from app.pipeline.align import align_face, face_quality, frontalness, landmark_template

TEMPLATE = landmark_template(160)


def _similarity(points, angle_deg, scale, shift):
    a = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) * scale
    return (points @ rot.T + shift).astype(np.float32)


def _dots_image(landmarks, size_hw=(400, 500)):
    image = np.zeros((*size_hw, 3), np.uint8)
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)]
    for (x, y), colour in zip(landmarks, colours):
        cv2.circle(image, (int(round(x)), int(round(y))), 3, colour, -1)
    return image, colours


@pytest.mark.parametrize("angle_deg, scale, shift", [
    (0, 1.0, (100, 50)), (20, 1.7, (150, 60)), (-35, 0.6, (200, 120)), (90, 1.2, (300, 100)),
])
def test_align_face_puts_landmarks_on_template(angle_deg, scale, shift):
    landmarks = _similarity(TEMPLATE, angle_deg, scale, shift)
    image, colours = _dots_image(landmarks)
    crop = align_face(image, landmarks)
    assert crop.shape == (160, 160, 3) and crop.dtype == np.uint8
    for (tx, ty), colour in zip(TEMPLATE, colours):
        mask = np.all(np.abs(crop.astype(int) - colour) < 90, axis=2)
        ys, xs = np.nonzero(mask)
        assert len(xs) > 0, f"dot {colour} missing"
        assert abs(xs.mean() - tx) < 2.5 and abs(ys.mean() - ty) < 2.5


def test_align_face_rejects_unknown_landmarks():
    image = np.zeros((100, 100, 3), np.uint8)
    with pytest.raises(ValueError, match="landmarks_5x2"):
        align_face(image, np.full((5, 2), np.nan, np.float32))


def test_align_face_near_edge_replicates_border():
    landmarks = _similarity(TEMPLATE, 0, 1.0, (-60, -70))  # partly outside the image
    image = np.full((200, 200, 3), 77, np.uint8)
    crop = align_face(image, landmarks)
    assert np.all(crop == 77)


def test_frontalness_frontal_turned_unknown():
    assert frontalness(TEMPLATE) > 0.95
    turned = TEMPLATE.copy()
    turned[2, 0] = TEMPLATE[1, 0]  # nose under the right eye: a strong turn
    assert frontalness(turned) < 0.1
    assert frontalness(np.full((5, 2), np.nan)) == 0.0
    # Rotation in the image plane does not make a face less frontal.
    assert frontalness(_similarity(TEMPLATE, 40, 1.0, (0, 0))) > 0.95


@pytest.mark.parametrize("side_px, score, expected", [
    (80, 1.0, 1.0), (160, 1.0, 1.0), (40, 1.0, 0.5), (80, 0.5, 0.5), (80, float("nan"), 0.0),
])
def test_face_quality_size_times_score(side_px, score, expected):
    landmarks = TEMPLATE / 160 * side_px
    xyxy = np.array([0, 0, side_px, side_px], np.float32)
    assert face_quality(xyxy, landmarks, score) == pytest.approx(expected * frontalness(TEMPLATE),
                                                                  abs=1e-3)
