"""Typed records passed between pipeline stages.

Arrays carry their format in their name (``xyxy`` = x1, y1, x2, y2 in pixels of the
displayed frame) and their shape in the docstring; shapes are checked on creation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction

import numpy as np


class RedactStyle(StrEnum):
    MOSAIC = "mosaic"
    BLUR = "blur"
    SOLID = "solid"


class RedactShape(StrEnum):
    ELLIPSE = "ellipse"
    BOX = "box"


@dataclass(frozen=True)
class AudioStreamInfo:
    index: int
    codec: str
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class VideoInfo:
    """What the probe learned about an input video.

    ``width``/``height`` are the displayed size (after rotation); ``coded_*`` as stored.
    ``rotation_deg`` is counter-clockwise, as FFmpeg's display matrix reports it.
    """

    path: str
    container: str
    codec: str
    width: int
    height: int
    coded_width: int
    coded_height: int
    rotation_deg: int
    time_base: Fraction
    average_rate: Fraction
    duration_s: float | None
    frame_count_estimate: int
    audio: tuple[AudioStreamInfo, ...] = ()

    @property
    def has_audio(self) -> bool:
        return bool(self.audio)

    @property
    def resolution_wh(self) -> tuple[int, int]:
        return self.width, self.height

    def to_dict(self) -> dict:
        return {
            "container": self.container,
            "codec": self.codec,
            "width": self.width,
            "height": self.height,
            "coded_width": self.coded_width,
            "coded_height": self.coded_height,
            "rotation_deg": self.rotation_deg,
            "time_base": str(self.time_base),
            "average_rate": str(self.average_rate),
            "duration_s": self.duration_s,
            "frame_count_estimate": self.frame_count_estimate,
            "audio": [a.__dict__ for a in self.audio],
        }


@dataclass(frozen=True)
class Frame:
    """One decoded frame in display orientation. ``image_rgb``: (H, W, 3) uint8."""

    index: int
    pts: int
    time_s: float
    image_rgb: np.ndarray


def _check_shape(name: str, array: np.ndarray, shape: tuple) -> None:
    if array.ndim != len(shape) or any(s is not None and a != s for a, s in zip(array.shape, shape)):
        raise ValueError(f"{name} has shape {array.shape}, expected {shape}")


@dataclass(frozen=True)
class FaceBoxes:
    """Faces found in one frame.

    xyxy: (N, 4) float32 pixels; score: (N,) float32 in 0..1; landmarks: (N, 5, 2) float32
    pixels (left eye, right eye, nose, left mouth corner, right mouth corner), NaN if unknown.
    """

    xyxy: np.ndarray
    score: np.ndarray
    landmarks: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        _check_shape("xyxy", self.xyxy, (n, 4))
        _check_shape("score", self.score, (n,))
        _check_shape("landmarks", self.landmarks, (n, 5, 2))

    @classmethod
    def empty(cls) -> FaceBoxes:
        return cls(
            np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0, 5, 2), np.float32)
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index) -> FaceBoxes:
        index = np.atleast_1d(np.arange(len(self))[index])
        return FaceBoxes(self.xyxy[index], self.score[index], self.landmarks[index])

    @classmethod
    def concatenate(cls, parts: list[FaceBoxes]) -> FaceBoxes:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.xyxy for p in parts]).astype(np.float32),
            np.concatenate([p.score for p in parts]).astype(np.float32),
            np.concatenate([p.landmarks for p in parts]).astype(np.float32),
        )


@dataclass(frozen=True)
class Track:
    """One appearance of one face, from its first to its last frame, every frame covered.

    frame_index: (M,) int64 strictly increasing and contiguous; xyxy: (M, 4) float32 boxes
    already grown and padded (what gets hidden); score: (M,) float32 detection score, NaN
    where the box was filled in (interpolated or padded); is_detected: (M,) bool.
    """

    track_id: int
    frame_index: np.ndarray
    xyxy: np.ndarray
    score: np.ndarray
    is_detected: np.ndarray

    def __post_init__(self) -> None:
        m = len(self.frame_index)
        if m == 0:
            raise ValueError(f"track {self.track_id} has no frames")
        _check_shape("frame_index", self.frame_index, (m,))
        _check_shape("xyxy", self.xyxy, (m, 4))
        _check_shape("score", self.score, (m,))
        _check_shape("is_detected", self.is_detected, (m,))
        if m > 1 and not np.all(np.diff(self.frame_index) == 1):
            raise ValueError(f"track {self.track_id} frame_index is not contiguous")

    @property
    def first_frame(self) -> int:
        return int(self.frame_index[0])

    @property
    def last_frame(self) -> int:
        return int(self.frame_index[-1])

    @property
    def detected_frames(self) -> int:
        return int(self.is_detected.sum())

    def box_at(self, frame_index: int) -> np.ndarray | None:
        i = frame_index - self.first_frame
        return self.xyxy[i] if 0 <= i < len(self.frame_index) else None


@dataclass(frozen=True)
class FaceSample:
    """A good-quality aligned face crop from one track, for identity.

    crop_rgb: (160, 160, 3) uint8, aligned on the five landmarks.
    quality: higher is better (size x frontalness x detection score).
    """

    track_id: int
    frame_index: int
    quality: float
    crop_rgb: np.ndarray


@dataclass(frozen=True)
class TrackDecision:
    track_id: int
    should_blur: bool
    reason: str
    person_id: int | None = None
    similarity: float | None = None


@dataclass(frozen=True)
class DetectOptions:
    """How faces are searched for. See app/pipeline/detect.py."""

    min_score: float = 0.3
    # Overrides of the measured schedule (app/pipeline/schedule.py); None = use the schedule.
    # Longest side, in pixels, of the image the detector sees on every detection frame.
    base_max_side_px: int | None = None
    detect_every_n_frames: int | None = None
    # Frames between quarter-turn probes (people lying down); 0 = never (rounded up to a
    # multiple of detect_every_n_frames).
    turn_probe_every_n_frames: int | None = None
    # Photos: every pass of three networks, kept where 4 agree (schedule.THOROUGH_PHOTO_PLAN,
    # the photo default: anonymize.PHOTO_OPTIONS), rather than six passes of two networks
    # (FAST_PHOTO_PLAN): more faces hidden, more background lost, about 3x the time. Videos do
    # not use it.
    thorough: bool = False

    def __post_init__(self) -> None:
        if not 0.0 < self.min_score < 1.0:
            raise ValueError(f"min_score must be between 0 and 1, got {self.min_score!r}")
        if self.base_max_side_px is not None and self.base_max_side_px < 64:
            raise ValueError(f"base_max_side_px must be at least 64, got {self.base_max_side_px!r}")
        if self.detect_every_n_frames is not None and self.detect_every_n_frames < 1:
            raise ValueError(f"detect_every_n_frames must be >= 1, got {self.detect_every_n_frames!r}")
        if self.turn_probe_every_n_frames is not None and self.turn_probe_every_n_frames < 0:
            raise ValueError("turn_probe_every_n_frames must be >= 0, "
                             f"got {self.turn_probe_every_n_frames!r}")


@dataclass(frozen=True)
class TrackOptions:
    """Fail-closed tracking: gaps filled, tracks padded, boxes grown."""

    max_gap_s: float = 1.0
    pad_s: float = 0.25
    box_scale: float = 1.3
    min_iou: float = 0.1

    def __post_init__(self) -> None:
        if self.max_gap_s < 0:
            raise ValueError(f"max_gap_s must be >= 0, got {self.max_gap_s!r}")
        if self.pad_s < 0:
            raise ValueError(f"pad_s must be >= 0, got {self.pad_s!r}")
        if not 1.0 <= self.box_scale <= 4.0:
            raise ValueError(f"box_scale must be between 1 and 4, got {self.box_scale!r}")


@dataclass(frozen=True)
class RedactOptions:
    style: RedactStyle = RedactStyle.MOSAIC
    shape: RedactShape = RedactShape.ELLIPSE
    # A face spans at most about this many mosaic cells across its longer side.
    max_cells_across: int = 8
    # ...and cells are never smaller than this: on small faces, 2-4 px cells keep the face's
    # outline (all WIDER val photos, the same hidden areas, bench/RESULTS.md section
    # stills-mosaic-cells: faces of 10-20 px left recognisable 4.6% with 2-px cells, 3.0% with
    # 8-px cells; faces >= 20 px 1.6% -> 1.3%; 10-px cells leave more of those >= 20 px).
    min_cell_px: int = 8

    def __post_init__(self) -> None:
        object.__setattr__(self, "style", RedactStyle(self.style))
        object.__setattr__(self, "shape", RedactShape(self.shape))
        if self.max_cells_across < 2:
            raise ValueError(f"max_cells_across must be >= 2, got {self.max_cells_across!r}")
        if not 2 <= self.min_cell_px <= 64:
            raise ValueError(f"min_cell_px must be between 2 and 64, got {self.min_cell_px!r}")


@dataclass(frozen=True)
class AnonymizeOptions:
    detect: DetectOptions = field(default_factory=DetectOptions)
    track: TrackOptions = field(default_factory=TrackOptions)
    redact: RedactOptions = field(default_factory=RedactOptions)

    def to_dict(self) -> dict:
        return {
            "detect": self.detect.__dict__,
            "track": self.track.__dict__,
            "redact": {k: str(v) for k, v in self.redact.__dict__.items()},
        }
