"""A second face detector for photos: RetinaFace (MobileNetV2 backbone) run by TensorFlow.

The model is the frozen graph shipped in ``retinaface==1.1.1`` (``models/retinaface.pb``;
the RetinaFace-tf2 training by peteryuX). Input ``x:0``: (1, H, W, 3) float32 RGB 0-255, H
and W multiples of 32 (the graph does its own MobileNetV2 scaling). Output ``Identity:0``:
(N, 16) rows ``x1 y1 x2 y2, 5 landmarks (x, y), landmark-valid, score``, coordinates as
fractions of the padded input, after the graph's own NMS (IoU 0.4).

The graph drops faces scoring under 0.5 inside its NMS. At load time, in memory only,
``_lower_score_floor`` sets that constant to ``min_score`` so weaker faces come out too; the
file on disk is never changed, so its SHA-256 check holds.

A different network from CenterFace, trained differently, misses different faces: the union
of the two hides more photo faces than either (bench/stills_plans.py, bench/RESULTS.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from app.pipeline import models
from app.pipeline.boxes import clip_boxes
from app.pipeline.detect import detect_resized
from app.pipeline.tfgraph import frozen_graph_session
from app.pipeline.types import FaceBoxes

INPUT_TENSOR = "x:0"
OUTPUT_TENSOR = "Identity:0"
_SCORE_FLOOR_NODE = "RetinaFaceModel/tf_op_layer_NonMaxSuppressionV3/NonMaxSuppressionV3/score_threshold"
STRIDE_PX = 32


def _lower_score_floor(graph_def, min_score: float) -> None:
    from tensorflow.python.framework import tensor_util

    for node in graph_def.node:
        if node.name == _SCORE_FLOOR_NODE and node.op == "Const":
            node.attr["value"].tensor.CopyFrom(tensor_util.make_tensor_proto(np.float32(min_score)))
            return
    raise RuntimeError(f"RetinaFace graph lacks the node {_SCORE_FLOOR_NODE}")


def decode_retinaface(rows: np.ndarray, padded_hw: tuple[int, int], min_score: float) -> FaceBoxes:
    """(N, 16) graph output -> FaceBoxes in padded-input pixels."""
    rows = rows[rows[:, 15] >= min_score]
    if len(rows) == 0:
        return FaceBoxes.empty()
    h, w = padded_hw
    xy = rows[:, :14].reshape(-1, 7, 2) * np.array([w, h], np.float32)
    return FaceBoxes(xy[:, :2].reshape(-1, 4).astype(np.float32), rows[:, 15].astype(np.float32),
                     xy[:, 2:].astype(np.float32))


class RetinaFace:
    """RetinaFace on TensorFlow; same ``detect(image_rgb, max_side_px)`` as CenterFace.
    Load once per process; one caller at a time."""

    def __init__(self, min_score: float = 0.3, threads: int | None = None,
                 models_dir: Path | None = None) -> None:
        if not 0.0 < min_score < 1.0:
            raise ValueError(f"min_score must be between 0 and 1, got {min_score!r}")
        self.min_score = min_score
        path = models.model_path(models.RETINAFACE, models_dir)
        self._graph, self._session = frozen_graph_session(
            path, threads or min(os.cpu_count() or 1, 4),
            lambda graph_def: _lower_score_floor(graph_def, min_score))
        self._input = self._graph.get_tensor_by_name(INPUT_TENSOR)
        self._output = self._graph.get_tensor_by_name(OUTPUT_TENSOR)

    def run(self, image_rgb: np.ndarray) -> FaceBoxes:
        """Detect at the image's own size (padded to multiples of 32)."""
        h, w = image_rgb.shape[:2]
        h_pad, w_pad = -(-h // STRIDE_PX) * STRIDE_PX, -(-w // STRIDE_PX) * STRIDE_PX
        blob = np.zeros((1, h_pad, w_pad, 3), np.float32)
        blob[0, :h, :w] = image_rgb
        rows = self._session.run(self._output, {self._input: blob})
        faces = decode_retinaface(rows, (h_pad, w_pad), self.min_score)
        return FaceBoxes(clip_boxes(faces.xyxy, (w, h)), faces.score, faces.landmarks)

    def detect(self, image_rgb: np.ndarray, max_side_px: int) -> FaceBoxes:
        return detect_resized(self.run, image_rgb, max_side_px)
