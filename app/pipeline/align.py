"""Face alignment on five landmarks, and a quality score to pick good frames for identity.

Pure functions of their inputs. Landmarks are (5, 2) float pixels in the order CenterFace
gives them: left eye, right eye, nose, left mouth corner, right mouth corner (left/right as
seen in the image).
"""

from __future__ import annotations

import cv2
import numpy as np

ALIGNED_SIZE_PX = 160

# The usual 5-point template (ArcFace/InsightFace, 112x112 crop) as fractions of the crop side.
_TEMPLATE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
     [70.7299, 92.2041]], np.float32,
) / 112.0
# FaceNet was trained on loose MTCNN crops (face box plus a margin), so the landmarks sit
# closer together than in the tight ArcFace crop: the template is shrunk by TEMPLATE_SCALE
# about its centroid, which is placed at TEMPLATE_CENTRE_Y (fraction of the crop height).
# Both chosen by verification accuracy on ../shared/eval/identity (bench/identity.py --grid).
TEMPLATE_SCALE = 0.9
TEMPLATE_CENTRE_Y = 0.55


def landmark_template(size_px: int = ALIGNED_SIZE_PX, scale: float = TEMPLATE_SCALE,
                      centre_y: float = TEMPLATE_CENTRE_Y) -> np.ndarray:
    """(5, 2) float32 target landmark positions in a size_px x size_px crop."""
    centroid = _TEMPLATE_112.mean(axis=0)
    target = np.array([0.5, centre_y], np.float32)
    return ((target + (_TEMPLATE_112 - centroid) * scale) * size_px).astype(np.float32)


def has_landmarks(landmarks: np.ndarray) -> bool:
    landmarks = np.asarray(landmarks, np.float32)
    return landmarks.shape == (5, 2) and bool(np.all(np.isfinite(landmarks)))


def align_face(image_rgb: np.ndarray, landmarks_5x2: np.ndarray, size_px: int = ALIGNED_SIZE_PX,
               template_scale: float = TEMPLATE_SCALE,
               template_centre_y: float = TEMPLATE_CENTRE_Y) -> np.ndarray:
    """Crop the face by a similarity transform (rotation, uniform scale, shift) that maps
    its five landmarks onto the template. Returns (size_px, size_px, 3) uint8; pixels
    outside the image are edge-replicated.

    Raises ValueError when the landmarks are unknown (NaN) or degenerate.
    """
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
        raise ValueError(f"image_rgb has shape {image_rgb.shape}, expected (H, W, 3)")
    landmarks = np.asarray(landmarks_5x2, np.float32)
    if not has_landmarks(landmarks):
        raise ValueError(f"landmarks_5x2 must be (5, 2) finite pixels, got {landmarks.tolist()}")
    template = landmark_template(size_px, template_scale, template_centre_y)
    # A huge reprojection threshold keeps all five points as inliers, so the refined result
    # is the least-squares similarity over all of them (no point is dropped as an outlier).
    matrix, _ = cv2.estimateAffinePartial2D(landmarks, template, method=cv2.RANSAC,
                                            ransacReprojThreshold=1e6)
    if matrix is None or not np.all(np.isfinite(matrix)):
        raise ValueError(f"cannot align face on degenerate landmarks {landmarks.tolist()}")
    return cv2.warpAffine(image_rgb, matrix, (size_px, size_px), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def frontalness(landmarks: np.ndarray) -> float:
    """1.0 for a frontal face, towards 0 as it turns (yaw) or is seen from above/below (pitch).

    Yaw: the nose's horizontal position between the eyes, measured along the eye line.
    Pitch: the nose's position between eye line and mouth line.
    """
    lm = np.asarray(landmarks, np.float64)
    if not has_landmarks(lm):
        return 0.0
    left_eye, right_eye, nose, left_mouth, right_mouth = lm
    eye_axis = right_eye - left_eye
    eye_dist = float(np.hypot(*eye_axis))
    if eye_dist < 1e-6:
        return 0.0
    unit = eye_axis / eye_dist
    normal = np.array([-unit[1], unit[0]])
    t = float(np.dot(nose - left_eye, unit)) / eye_dist  # 0.5 when frontal
    yaw = max(0.0, 1.0 - abs(t - 0.5) * 2.0)
    eye_mid = (left_eye + right_eye) / 2
    mouth_mid = (left_mouth + right_mouth) / 2
    mouth_depth = float(np.dot(mouth_mid - eye_mid, normal))
    if mouth_depth <= 1e-6:
        return 0.0
    p = float(np.dot(nose - eye_mid, normal)) / mouth_depth  # about 0.5 when frontal
    pitch = max(0.0, 1.0 - abs(p - 0.5) / 0.45)
    return float(np.clip(yaw * pitch, 0.0, 1.0))


def face_quality(xyxy: np.ndarray, landmarks: np.ndarray, score: float,
                 full_size_px: float = 80.0) -> float:
    """How useful a detected face is for identity: size x frontalness x detection score.

    Size is the geometric mean of the box sides over ``full_size_px``, capped at 1 (bigger
    than that adds little to FaceNet's 160-px input). 0 when landmarks are unknown.
    """
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    side = float(np.sqrt(max(0.0, x2 - x1) * max(0.0, y2 - y1)))
    size = min(1.0, side / full_size_px)
    score = float(score)
    if not np.isfinite(score):
        return 0.0
    return size * frontalness(landmarks) * min(max(score, 0.0), 1.0)
