"""Pure box maths on (N, 4) ``xyxy`` float arrays in pixels."""

from __future__ import annotations

import cv2
import numpy as np


def long_side_px(xyxy: np.ndarray) -> np.ndarray:
    """(N, 4) -> (N,) longer side of each box: the face size used by the photo plan."""
    return np.maximum(xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1])


def box_area(xyxy: np.ndarray) -> np.ndarray:
    """(N, 4) -> (N,) area; negative extents count as zero."""
    wh = np.clip(xyxy[:, 2:4] - xyxy[:, 0:2], 0, None)
    return wh[:, 0] * wh[:, 1]


def intersection_matrix(a_xyxy: np.ndarray, b_xyxy: np.ndarray) -> np.ndarray:
    """(N, 4), (M, 4) -> (N, M) area of each pair's overlap."""
    top_left = np.maximum(a_xyxy[:, None, :2], b_xyxy[None, :, :2])
    bottom_right = np.minimum(a_xyxy[:, None, 2:], b_xyxy[None, :, 2:])
    wh = np.clip(bottom_right - top_left, 0, None)
    return wh[..., 0] * wh[..., 1]


def iou_matrix(a_xyxy: np.ndarray, b_xyxy: np.ndarray) -> np.ndarray:
    """(N, 4), (M, 4) -> (N, M) intersection over union."""
    if len(a_xyxy) == 0 or len(b_xyxy) == 0:
        return np.zeros((len(a_xyxy), len(b_xyxy)), np.float32)
    inter = intersection_matrix(a_xyxy, b_xyxy)
    union = box_area(a_xyxy)[:, None] + box_area(b_xyxy)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0).astype(np.float32)


def nms(xyxy: np.ndarray, score: np.ndarray, max_iou: float) -> np.ndarray:
    """Indices of boxes kept by greedy non-maximum suppression, best score first (ties: the
    earlier box first). A box is dropped when its IoU with a kept, better box is > max_iou.

    OpenCV's NMSBoxes does the work (photo passes keep thousands of candidates >= 0.1, where
    an N x N IoU matrix in NumPy took half the photo's detection time); it is given each box's
    rank as its score, so ties are broken as documented, and boxes without area, which it
    would drop, are kept: they overlap nothing."""
    n = len(xyxy)
    if n == 0:
        return np.zeros(0, np.int64)
    rank = np.empty(n, np.float64)
    rank[np.argsort(-np.asarray(score), kind="stable")] = np.arange(n, 0, -1)
    wh = xyxy[:, 2:4] - xyxy[:, 0:2]
    has_area = (wh > 0).all(axis=1)
    solid = np.flatnonzero(has_area)
    xywh = np.concatenate([xyxy[solid, 0:2], wh[solid]], axis=1).astype(np.float64)
    kept = np.asarray(cv2.dnn.NMSBoxes(xywh.tolist(), rank[solid].tolist(), 0.0, float(max_iou)),
                      np.int64).reshape(-1)
    keep = np.concatenate([solid[kept], np.flatnonzero(~has_area)])
    return keep[np.argsort(-rank[keep])]


def scale_boxes(xyxy: np.ndarray, factor: float | np.ndarray) -> np.ndarray:
    """Grow (factor > 1) or shrink each box around its centre; factor: one for all boxes, or
    one per box, shape (N,)."""
    factor = np.asarray(factor, np.float32).reshape(-1, 1) if np.ndim(factor) else factor
    centre = (xyxy[:, 0:2] + xyxy[:, 2:4]) / 2
    half = (xyxy[:, 2:4] - xyxy[:, 0:2]) / 2 * factor
    return np.concatenate([centre - half, centre + half], axis=1).astype(np.float32)


def clip_boxes(xyxy: np.ndarray, resolution_wh: tuple[int, int]) -> np.ndarray:
    w, h = resolution_wh
    out = xyxy.astype(np.float32).copy()
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, w)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, h)
    return out


def rotate_points_to_original(points_xy: np.ndarray, k: int, rotated_wh: tuple[int, int]) -> np.ndarray:
    """Map (..., 2) x, y points found on ``np.rot90(image, k)`` back to ``image``.

    rotated_wh is the size of the rotated image. k in 0..3 (counter-clockwise quarter turns).
    """
    k %= 4
    points = np.asarray(points_xy, np.float32)
    if k == 0:
        return points.copy()
    w, h = rotated_wh
    x, y = points[..., 0], points[..., 1]
    if k == 1:  # rotated (xr, yr) <- original (x, y): xr = y, yr = W0 - x, with W0 = h
        out = (h - y, x)
    elif k == 2:
        out = (w - x, h - y)
    else:  # k == 3: xr = H0 - y, yr = x, with H0 = w
        out = (y, w - x)
    return np.stack(out, axis=-1).astype(np.float32)


def rotate_boxes_to_original(xyxy: np.ndarray, k: int, rotated_wh: tuple[int, int]) -> np.ndarray:
    """Map (N, 4) boxes found on ``np.rot90(image, k)`` back to ``image`` (see
    rotate_points_to_original): the box spanned by its two corners turned back."""
    if k % 4 == 0 or len(xyxy) == 0:
        return np.asarray(xyxy, np.float32).copy()
    corners = rotate_points_to_original(np.asarray(xyxy, np.float32).reshape(-1, 2, 2), k, rotated_wh)
    return np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)
