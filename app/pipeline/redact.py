"""Redaction: pure functions that hide boxes in an RGB frame.

Boxes may stick out of the frame, be smaller than a mosaic cell, or overlap; every pixel
inside a box's shape (ellipse inscribed in the box, or the box) is replaced, and no pixel
outside any shape changes.
"""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np

from app.pipeline.types import RedactOptions, RedactShape, RedactStyle


def cell_px_for(box_w: float, box_h: float, max_cells_across: int, min_cell_px: int = 2) -> int:
    """Mosaic cell size so the box spans at most ``max_cells_across`` cells, and at least
    ``min_cell_px`` (small faces: fewer, larger cells)."""
    return max(min_cell_px, math.ceil(max(box_w, box_h) / max_cells_across))


def mosaic(region: np.ndarray, cell_px: int) -> np.ndarray:
    """(h, w) or (h, w, C) uint8. Each cell_px x cell_px cell (cells anchored at the region's top-left; the last ones may
    be smaller) filled with its exact mean colour."""
    h, w = region.shape[:2]
    rows = np.arange(0, h, cell_px)
    cols = np.arange(0, w, cell_px)
    # Integer sums are exact (as float64 ones were) without converting the region first.
    sums = np.add.reduceat(np.add.reduceat(region, rows, axis=0, dtype=np.uint32), cols, axis=1,
                           dtype=np.uint32)
    counts = np.outer(np.diff(np.append(rows, h)), np.diff(np.append(cols, w)))
    counts = counts.reshape(counts.shape + (1,) * (region.ndim - 2))
    means = np.rint(sums / counts).astype(np.uint8)
    return np.repeat(np.repeat(means, np.diff(np.append(rows, h)), axis=0),
                     np.diff(np.append(cols, w)), axis=1)


def strong_blur(region: np.ndarray) -> np.ndarray:
    """A Gaussian blur whose sigma is a quarter of the region's longer side, computed on a
    downscaled copy (same look, bounded cost for large faces)."""
    h, w = region.shape[:2]
    factor = max(1.0, max(h, w) / 32)
    small_wh = (max(1, round(w / factor)), max(1, round(h / factor)))
    small = cv2.resize(region, small_wh, interpolation=cv2.INTER_AREA)
    sigma = max(small_wh) / 4
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=sigma, sigmaY=sigma,
                             borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def shape_mask(box_xyxy: np.ndarray, region_xyxy: tuple[int, int, int, int],
               shape: RedactShape) -> np.ndarray:
    """(h, w) bool mask over the integer region, True inside the box's shape."""
    rx1, ry1, rx2, ry2 = region_xyxy
    h, w = ry2 - ry1, rx2 - rx1
    if shape == RedactShape.BOX:
        return np.ones((h, w), bool)
    x1, y1, x2, y2 = (float(v) for v in box_xyxy)
    # Pixel centres inside the ellipse inscribed in the box.
    ys = (np.arange(ry1, ry2) + 0.5 - (y1 + y2) / 2) / max((y2 - y1) / 2, 0.5)
    xs = (np.arange(rx1, rx2) + 0.5 - (x1 + x2) / 2) / max((x2 - x1) / 2, 0.5)
    mask = ys[:, None] ** 2 + xs[None, :] ** 2 <= 1.0
    if not mask.any():  # a sub-pixel box still hides the pixel it sits on
        mask[h // 2, w // 2] = True
    return mask


def integer_region(box_xyxy: np.ndarray, resolution_wh: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """Pixels touched by the box (outward rounding), clipped to the frame; None if outside."""
    w, h = resolution_wh
    x1, y1 = max(0, math.floor(box_xyxy[0])), max(0, math.floor(box_xyxy[1]))
    x2, y2 = min(w, math.ceil(box_xyxy[2])), min(h, math.ceil(box_xyxy[3]))
    if x2 <= x1 or y2 <= y1:
        return None
    return x1, y1, x2, y2


def redact_frame(image: np.ndarray, boxes_xyxy: list[np.ndarray] | np.ndarray,
                 options: RedactOptions, fill_value: int | tuple[int, ...] = 0) -> np.ndarray:
    """A copy of the (H, W, C) or (H, W) uint8 image with every box hidden. Overlapping boxes
    are hidden one after another; each fill is computed from pixels that are already hidden or
    that the box itself covers, so overlaps never reveal anything. ``fill_value`` is the colour
    of the ``solid`` style (black)."""
    if len(boxes_xyxy) == 0:
        return image
    out = image.copy()
    h, w = out.shape[:2]
    for box in boxes_xyxy:
        region_xyxy = integer_region(np.asarray(box), (w, h))
        if region_xyxy is None:
            continue
        x1, y1, x2, y2 = region_xyxy
        region = out[y1:y2, x1:x2]
        mask = shape_mask(np.asarray(box), region_xyxy, options.shape)
        if options.style == RedactStyle.MOSAIC:
            box_w, box_h = float(box[2] - box[0]), float(box[3] - box[1])
            filled = mosaic(region, cell_px_for(box_w, box_h, options.max_cells_across,
                                                 options.min_cell_px))
        elif options.style == RedactStyle.BLUR:
            filled = strong_blur(region)
        else:
            filled = np.empty_like(region)
            filled[...] = fill_value
        region[mask] = filled[mask]
    return out


def redact_yuv420(planes: np.ndarray, boxes_xyxy: list[np.ndarray] | np.ndarray,
                  options: RedactOptions, full_range: bool = False) -> np.ndarray:
    """The same on a planar 4:2:0 frame as PyAV's ``to_ndarray()`` gives it: (H * 3 / 2, W)
    uint8, Y then U then V. Working on the decoded planes leaves every pixel outside the
    masks bit for bit as decoded (no colour conversion) and skips two costly conversions.
    Chroma is hidden with the boxes at half scale."""
    if len(boxes_xyxy) == 0:
        return planes
    h = planes.shape[0] * 2 // 3
    w = planes.shape[1]
    boxes = np.asarray(boxes_xyxy, np.float32).reshape(-1, 4)
    flat = planes.reshape(-1)
    chroma_hw = (h // 2, w // 2)
    chroma_size = chroma_hw[0] * chroma_hw[1]  # the planes are packed, not row-aligned
    luma = redact_frame(flat[:h * w].reshape(h, w), boxes, options,
                        fill_value=0 if full_range else 16)
    u = flat[h * w:h * w + chroma_size].reshape(chroma_hw)
    v = flat[h * w + chroma_size:].reshape(chroma_hw)
    chroma_boxes = boxes / 2
    chroma_options = replace(options, min_cell_px=max(2, options.min_cell_px // 2))
    u = redact_frame(u, chroma_boxes, chroma_options, fill_value=128)
    v = redact_frame(v, chroma_boxes, chroma_options, fill_value=128)
    return np.concatenate([luma.reshape(-1), u.reshape(-1), v.reshape(-1)]).reshape(planes.shape)
