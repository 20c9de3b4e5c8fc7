"""Face detection with CenterFace on ONNX Runtime.

The detector sees the frame resized so its longer side is at most ``max_side_px`` (never
enlarged unless asked), padded to multiples of 32. Small faces need more pixels: callers
choose the scale(s), see ``detect_multiscale``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from app.pipeline import models
from app.pipeline.boxes import (box_area, clip_boxes, intersection_matrix, iou_matrix, nms,
                                rotate_boxes_to_original, rotate_points_to_original)
from app.pipeline.types import FaceBoxes

log = logging.getLogger(__name__)

_OUTPUT_NAMES = ["537", "538", "539", "540"]  # heatmap, scale, offset, landmarks
NMS_MAX_IOU = 0.3


class FaceDetector(Protocol):
    def detect(self, image_rgb: np.ndarray, max_side_px: int) -> FaceBoxes:
        """Faces in an (H, W, 3) uint8 RGB image, boxes in that image's pixels."""
        ...


def default_threads() -> int:
    """Threads for one ONNX Runtime session: the cores, at most 4."""
    return min(os.cpu_count() or 1, 4)


def concurrent_calls(*detectors: FaceDetector) -> int:
    """How many ``detect`` calls may run at once, one per thread, on all of these detectors:
    what each declares as ``concurrent_calls`` (1 when it declares nothing: a detector is
    called from one thread at a time unless it says otherwise)."""
    return max(1, min(getattr(d, "concurrent_calls", 1) for d in detectors))


def session_concurrency(threads: int | None) -> int:
    """Calls at once that keep the cores busy with sessions of ``threads`` threads each: two
    at once with one thread each on 2 cores. ONNX Runtime sessions may be run from several
    threads at once."""
    return max(1, default_threads() // (threads or default_threads()))


def decode_centerface(
    heatmap: np.ndarray,
    scale: np.ndarray,
    offset: np.ndarray,
    landmark: np.ndarray,
    input_hw: tuple[int, int],
    min_score: float,
) -> FaceBoxes:
    """Turn CenterFace's four output maps (batch 1, stride 4) into boxes in input pixels."""
    ys, xs = np.nonzero(heatmap[0, 0] > min_score)
    if len(ys) == 0:
        return FaceBoxes.empty()
    h_in, w_in = input_hw
    score = heatmap[0, 0, ys, xs].astype(np.float32)
    box_h = np.exp(scale[0, 0, ys, xs]) * 4
    box_w = np.exp(scale[0, 1, ys, xs]) * 4
    cx = (xs + offset[0, 1, ys, xs] + 0.5) * 4
    cy = (ys + offset[0, 0, ys, xs] + 0.5) * 4
    x1 = np.clip(cx - box_w / 2, 0, w_in)
    y1 = np.clip(cy - box_h / 2, 0, h_in)
    x2 = np.minimum(x1 + box_w, w_in)
    y2 = np.minimum(y1 + box_h, h_in)
    xyxy = np.stack([x1, y1, x2, y2], axis=1).astype(np.float32)
    lm = landmark[0][:, ys, xs].T.reshape(-1, 5, 2)  # (N, 5, [y, x]) as offsets in box units
    landmarks = np.stack([lm[:, :, 1] * box_w[:, None] + x1[:, None],
                          lm[:, :, 0] * box_h[:, None] + y1[:, None]], axis=2).astype(np.float32)
    keep = nms(xyxy, score, NMS_MAX_IOU)
    return FaceBoxes(xyxy[keep], score[keep], landmarks[keep])


def onnx_session(path: Path, threads: int | None = None):
    """An ONNX Runtime session for one of Veil's detectors (the GPU where ONNX Runtime has one)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Idle worker threads sleep instead of spinning: on video the decode thread runs beside
    # the detector, and spinning took its core. 720p and 1080p end to end 6-7% faster
    # (interleaved runs, 8 of 10 and 4 of 4 pairs faster); photos unchanged.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider")
                 if p in ort.get_available_providers()]
    return ort.InferenceSession(str(path), options, providers=providers)


def padded_blob(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (1, 3, H', W') float32, H' and W' the next multiples of 32, padded
    with zeros at the bottom and right (so boxes need no rescaling for the padding)."""
    h, w = image.shape[:2]
    blob = np.zeros((1, 3, -(-h // 32) * 32, -(-w // 32) * 32), np.float32)
    blob[0, :, :h, :w] = image.transpose(2, 0, 1)
    return blob


class CenterFace:
    """CenterFace on ONNX Runtime. Load once per process (model file checked on load).

    threads: ONNX Runtime threads per call (default_threads() unless given); with fewer,
    ``concurrent_calls`` says how many calls may run at once from different threads."""

    def __init__(self, min_score: float = 0.3, threads: int | None = None,
                 models_dir: Path | None = None) -> None:
        if not 0.0 < min_score < 1.0:
            raise ValueError(f"min_score must be between 0 and 1, got {min_score!r}")
        self.min_score = min_score
        self.session = onnx_session(models.model_path(models.CENTERFACE, models_dir), threads)
        self.concurrent_calls = session_concurrency(threads)

    def run(self, image_rgb: np.ndarray) -> FaceBoxes:
        """Detect at the image's own size (padded to multiples of 32)."""
        h, w = image_rgb.shape[:2]
        blob = padded_blob(image_rgb)
        heatmap, scale, offset, landmark = self.session.run(_OUTPUT_NAMES, {"input.1": blob})
        faces = decode_centerface(heatmap, scale, offset, landmark, blob.shape[2:], self.min_score)
        return FaceBoxes(clip_boxes(faces.xyxy, (w, h)), faces.score, faces.landmarks)

    def detect(self, image_rgb: np.ndarray, max_side_px: int) -> FaceBoxes:
        return detect_resized(self.run, image_rgb, max_side_px)


def detect_resized(run, image_rgb: np.ndarray, max_side_px: int) -> FaceBoxes:
    """``run`` (a detector at the image's own size) on the image resized so its longer side is
    max_side_px; boxes and landmarks come back in the original image's pixels."""
    h, w = image_rgb.shape[:2]
    factor = max_side_px / max(h, w)
    if abs(factor - 1.0) < 1e-3:
        return run(image_rgb)
    size_wh = (max(1, round(w * factor)), max(1, round(h * factor)))
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    faces = run(cv2.resize(image_rgb, size_wh, interpolation=interpolation))
    sx, sy = w / size_wh[0], h / size_wh[1]
    return FaceBoxes(
        clip_boxes(faces.xyxy * np.array([sx, sy, sx, sy], np.float32), (w, h)),
        faces.score,
        (faces.landmarks * np.array([sx, sy], np.float32)).astype(np.float32),
    )


def detect_turned(detector: FaceDetector, image_rgb: np.ndarray, turns: int,
                  max_side_px: int) -> FaceBoxes:
    """Faces on the image turned counter-clockwise by ``turns`` quarters (people lying down or
    upside down), in the image's own pixels. The image is resized before it is turned."""
    if turns % 4 == 0:
        return detector.detect(image_rgb, max_side_px)

    def on_turned(resized: np.ndarray) -> FaceBoxes:
        turned = turn_image(resized, turns)
        return turn_faces_back(detector.detect(turned, max(turned.shape[:2])), turns,
                               (turned.shape[1], turned.shape[0]))
    return detect_resized(on_turned, image_rgb, max_side_px)


def detect_multiscale(detector: FaceDetector, image_rgb: np.ndarray,
                      max_sides_px: tuple[int, ...], rotations: tuple[int, ...] = (0,)) -> FaceBoxes:
    """Union of detections at several scales and quarter-turn rotations, merged by NMS.

    Rotations (counter-clockwise quarter turns) find upside-down and sideways faces in stills.
    """
    return merge_union(FaceBoxes.concatenate(
        [detect_turned(detector, image_rgb, k, side) for k in rotations for side in max_sides_px]))


def merge_union(faces: FaceBoxes, min_iou: float = NMS_MAX_IOU) -> FaceBoxes:
    """Merge overlapping detections of one face from several passes.

    Each kept (best-scoring) box grows to the union of the boxes it suppresses, so merging
    never hides less than any single pass would.
    """
    if len(faces) == 0:
        return faces
    keep = nms(faces.xyxy, faces.score, min_iou)
    ious = iou_matrix(faces.xyxy[keep], faces.xyxy)
    xyxy = faces.xyxy[keep].copy()
    for row, overlapping in enumerate(ious > min_iou):
        group = faces.xyxy[overlapping]
        xyxy[row, :2] = group[:, :2].min(axis=0)
        xyxy[row, 2:] = group[:, 2:].max(axis=0)
    return FaceBoxes(xyxy, faces.score[keep], faces.landmarks[keep])


def absorb_contained(outer: FaceBoxes, inner: FaceBoxes, min_inside: float = 0.7) -> FaceBoxes:
    """``outer`` and ``inner`` faces as one set, where an inner box lying at least
    ``min_inside`` of its area inside an outer box is the same face seen by another pass: it
    goes into the outer box it overlaps most (which grows to hold it, and keeps the better
    score). A small face's box from a coarse pass can be twice the size of the box a finer
    pass gives it: their IoU is under NMS's 0.3, and without this they would be two faces (two
    tracks, each padded and held, for one face)."""
    if not len(outer) or not len(inner):
        return FaceBoxes.concatenate([outer, inner])
    overlap = intersection_matrix(inner.xyxy, outer.xyxy)
    inside = overlap / np.maximum(box_area(inner.xyxy)[:, None], 1e-6)
    into = np.where(inside.max(axis=1) >= min_inside, overlap.argmax(axis=1), -1)
    xyxy, score = outer.xyxy.copy(), outer.score.copy()
    for i, o in enumerate(into):
        if o >= 0:
            xyxy[o, :2] = np.minimum(xyxy[o, :2], inner.xyxy[i, :2])
            xyxy[o, 2:] = np.maximum(xyxy[o, 2:], inner.xyxy[i, 2:])
            score[o] = max(score[o], inner.score[i])
    return FaceBoxes.concatenate([FaceBoxes(xyxy, score, outer.landmarks), inner[into < 0]])


def without_weak_echoes(faces: FaceBoxes, sure_score: float, max_inside: float = 0.3) -> FaceBoxes:
    """``faces`` less the weak ones (< ``sure_score``) lying at least ``max_inside`` of their
    area inside a sure face's box: a loose second box of that face (CenterFace finds an
    upside-down or lying face weakly, with a box off by a third, beside the turned pass's
    sure one), not another face."""
    weak = faces.score < sure_score
    if not weak.any() or weak.all():
        return faces
    sure = faces.xyxy[~weak]
    inside = intersection_matrix(faces.xyxy, sure).max(axis=1) / np.maximum(box_area(faces.xyxy), 1e-6)
    return faces[~(weak & (inside >= max_inside))]


def merge_nms(faces: FaceBoxes, min_iou: float = NMS_MAX_IOU) -> FaceBoxes:
    """Overlapping detections of one face reduced to the best-scoring box (no growing)."""
    keep = nms(faces.xyxy, faces.score, min_iou) if len(faces) else []
    return FaceBoxes(faces.xyxy[keep], faces.score[keep], faces.landmarks[keep])


def mirror_faces(faces: FaceBoxes, width: int) -> FaceBoxes:
    """Boxes found on the left-right mirrored image, in the original image (landmarks dropped:
    their left/right order is mirrored too)."""
    xyxy = faces.xyxy.copy()
    xyxy[:, [0, 2]] = width - faces.xyxy[:, [2, 0]]
    return FaceBoxes(xyxy, faces.score, np.full_like(faces.landmarks, np.nan))


def turn_image(image_rgb: np.ndarray, turns: int) -> np.ndarray:
    """The image turned counter-clockwise by quarter turns (the same array for 0)."""
    return np.ascontiguousarray(np.rot90(image_rgb, turns)) if turns % 4 else image_rgb


def turn_faces_back(faces: FaceBoxes, turns: int, turned_wh: tuple[int, int]) -> FaceBoxes:
    """Faces found on ``np.rot90(image, turns)`` (of size turned_wh), in the image's own pixels.
    Landmarks are turned back too: a turn keeps their left/right order, and identity aligns
    the face upright on them."""
    if turns % 4 == 0:
        return faces
    return FaceBoxes(rotate_boxes_to_original(faces.xyxy, turns, turned_wh), faces.score,
                     rotate_points_to_original(faces.landmarks, turns, turned_wh))


def vote(passes: list[FaceBoxes], alone_min_scores: list[float], agree_min_score: float,
         agree_min_iou: float, merge: Callable[[FaceBoxes], FaceBoxes] | None = None,
         min_agreeing: int = 1) -> FaceBoxes:
    """Faces from several passes: a box is kept when its own pass is sure of it
    (score >= that pass's alone_min_score) or when boxes of ``min_agreeing`` other passes
    overlap it (IoU >= agree_min_iou), all at >= agree_min_score. Kept boxes are merged by
    ``merge``: ``merge_union`` unless given (the benchmark asks for plain NMS to score
    detections)."""
    kept = []
    for i, (faces, alone) in enumerate(zip(passes, alone_min_scores)):
        candidates = faces.score >= agree_min_score
        agreeing = np.zeros(len(faces), int)
        for j, other in enumerate(passes):
            boxes = other.xyxy[other.score >= agree_min_score]
            if j != i and len(faces) and len(boxes):
                agreeing += (iou_matrix(faces.xyxy, boxes) >= agree_min_iou).any(axis=1)
        keep = (faces.score >= alone) | (candidates & (agreeing >= min_agreeing))
        kept.append(FaceBoxes(faces.xyxy[keep], faces.score[keep], faces.landmarks[keep]))
    return (merge or merge_union)(FaceBoxes.concatenate(kept))


def sure_faces(faces: FaceBoxes, passes: list[FaceBoxes], alone_min_scores: list[float],
               min_iou: float) -> np.ndarray:
    """(N,) bool for ``faces`` (the vote's, merged): some pass found the face at >= its own
    alone_min_score (a box of it overlaps the face at IoU >= min_iou). The others were kept
    only because several passes agree on them."""
    sure = [p.xyxy[p.score >= alone] for p, alone in zip(passes, alone_min_scores)]
    sure_xyxy = np.concatenate(sure) if sure else np.zeros((0, 4), np.float32)
    if not len(faces) or not len(sure_xyxy):
        return np.zeros(len(faces), bool)
    return (iou_matrix(faces.xyxy, sure_xyxy) >= min_iou).any(axis=1)
