"""Scene-cut detection on tiny thumbnails: pure functions of the pixels."""

from __future__ import annotations

import cv2
import numpy as np

THUMB_WH = (32, 18)
HIST_BINS = 8


def frame_signature(image_rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> normalised joint colour histogram, (HIST_BINS**3,) float32."""
    return _histogram(cv2.resize(image_rgb, THUMB_WH, interpolation=cv2.INTER_AREA))


def frame_signature_yuv420(planes: np.ndarray) -> np.ndarray:
    """The same signature from a packed planar 4:2:0 frame ((H * 3 / 2, W) uint8, as PyAV's
    ``to_ndarray`` gives it), without converting the whole frame to RGB."""
    h = planes.shape[0] * 2 // 3
    w = planes.shape[1]
    flat = planes.reshape(-1)
    chroma = (h // 2) * (w // 2)
    thumbs = [cv2.resize(plane, THUMB_WH, interpolation=cv2.INTER_AREA) for plane in (
        flat[:h * w].reshape(h, w),
        flat[h * w:h * w + chroma].reshape(h // 2, w // 2),
        flat[h * w + chroma:].reshape(h // 2, w // 2))]
    y, u, v = (t.astype(np.float32) for t in thumbs)
    y = (y - 16) * 1.164  # BT.601, limited range, as FFmpeg converts by default
    u -= 128
    v -= 128
    rgb = np.dstack([y + 1.596 * v, y - 0.392 * u - 0.813 * v, y + 2.017 * u])
    return _histogram(np.clip(np.rint(rgb), 0, 255).astype(np.uint8))


def _histogram(thumb: np.ndarray) -> np.ndarray:
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
