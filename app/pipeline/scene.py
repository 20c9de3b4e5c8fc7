"""Scene-cut detection on tiny thumbnails: pure functions of the pixels."""

from __future__ import annotations

import cv2
import numpy as np

THUMB_WH = (32, 18)
HIST_BINS = 8


def frame_signature(image_rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> normalised joint colour histogram, (HIST_BINS**3,) float32."""
    thumb = cv2.resize(image_rgb, THUMB_WH, interpolation=cv2.INTER_AREA)
    quantised = (thumb // (256 // HIST_BINS)).reshape(-1, 3).astype(np.int64)
    codes = (quantised[:, 0] * HIST_BINS + quantised[:, 1]) * HIST_BINS + quantised[:, 2]
    hist = np.bincount(codes, minlength=HIST_BINS**3).astype(np.float32)
    return hist / hist.sum()


def is_scene_cut(previous: np.ndarray | None, current: np.ndarray, min_change: float = 0.6) -> bool:
    """True when the colour distribution changed by more than ``min_change`` (0..1, half the
    L1 distance between histograms). A moving face or camera changes it far less."""
    if previous is None:
        return False
    return float(np.abs(previous - current).sum()) / 2 > min_change
