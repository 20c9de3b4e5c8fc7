"""Which scales (and rotations) the detector runs at, chosen by measurement (bench/RESULTS.md).

Pure functions of the image or video geometry; the engine calls them. The numbers below come
from bench/stills.py (WIDER FACE val) and bench/video.py (YouTube Faces, 720p/1080p speed);
change them only with a new measurement.
"""

from __future__ import annotations

from dataclasses import dataclass

# Stills: CenterFace misses most faces under ~10 px at the photo's own scale; a second pass at
# twice the size finds them (WIDER val, 1024-px photos: 10-20 px recall 0.64 -> 0.87, see
# RESULTS "Stills: detector recall"). Beyond ~2,600 px the pass costs more than it finds.
STILL_UPSCALE = 2
STILL_MAX_SIDE_PX = 2600
# Quarter-turn passes (upside-down faces): a 180-degree pass found no extra face on WIDER val
# (recall 86.8% -> 86.5% on hard, FP 3.8 -> 4.1 per photo) and detect_multiscale runs it at
# every scale (x2 cost), so photos get none until a measured set shows they pay.
STILL_ROTATIONS = (0,)

# Recommended defaults for photos (measured on WIDER val with the plan above).
STILL_MIN_SCORE = 0.3
STILL_BOX_SCALE = 1.3


def still_plan(image_hw: tuple[int, int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(max_sides_px, rotations) for ``detect_multiscale`` on one photo of (height, width).

    Every rotation runs at every scale in detect_multiscale, so rotations are kept to those
    that paid off at the base scale. Tiny photos are enlarged (CenterFace needs ~10 px faces).
    """
    long_side = max(image_hw)
    base = max(long_side, 640)
    sides = (base,) if base * STILL_UPSCALE > STILL_MAX_SIDE_PX and base >= STILL_MAX_SIDE_PX else (
        base, min(base * STILL_UPSCALE, max(STILL_MAX_SIDE_PX, base)))
    return tuple(dict.fromkeys(sides)), STILL_ROTATIONS


@dataclass(frozen=True)
class VideoDetectionPlan:
    """When and at which scale the detector runs on a video.

    base_max_side_px: long side of the reduced frame detected on every detection frame.
    detect_every_n_frames: detection frames are 0, n, 2n, ... (tracks, gap filling and padding
        cover the frames between).
    full_res_every_n_frames: every such frame also gets a pass at full_res_max_side_px
        (0 = never), for faces too small for the base scale.
    """

    base_max_side_px: int
    detect_every_n_frames: int
    full_res_every_n_frames: int
    full_res_max_side_px: int

    def __post_init__(self) -> None:
        if self.base_max_side_px < 64:
            raise ValueError(f"base_max_side_px must be >= 64, got {self.base_max_side_px!r}")
        if self.detect_every_n_frames < 1:
            raise ValueError(f"detect_every_n_frames must be >= 1, got {self.detect_every_n_frames!r}")
        if self.full_res_every_n_frames < 0 or (
                self.full_res_every_n_frames and self.full_res_every_n_frames % self.detect_every_n_frames):
            raise ValueError("full_res_every_n_frames must be 0 or a multiple of detect_every_n_frames, "
                             f"got {self.full_res_every_n_frames!r}")

    def sides_for_frame(self, frame_index: int) -> tuple[int, ...]:
        """Detector scales to run on this frame: () on frames between detections."""
        if frame_index % self.detect_every_n_frames:
            return ()
        if self.full_res_every_n_frames and frame_index % self.full_res_every_n_frames == 0:
            return (self.base_max_side_px, self.full_res_max_side_px)
        return (self.base_max_side_px,)


# Video: measured in bench/video.py (see RESULTS.md).
VIDEO_BASE_MAX_SIDE_PX = 640
VIDEO_DETECTIONS_PER_S = 10
VIDEO_FULL_RES_PER_S = 2
VIDEO_FULL_RES_MAX_SIDE_PX = 1920


def video_plan(width: int, height: int, fps: float) -> VideoDetectionPlan:
    """The fastest schedule that kept every YouTube Faces face-frame hidden.

    Base pass at 640 px long side ~10 times a second; frames larger than that also get a pass
    at their own size (at most 1920 px) about twice a second, so a 20-px face in 1080p is found
    within half a second and then followed by the base pass once it grows, or padded/filled.
    """
    long_side = max(width, height)
    base = min(long_side, VIDEO_BASE_MAX_SIDE_PX)
    every = max(1, round((fps or 25) / VIDEO_DETECTIONS_PER_S))
    if long_side <= base:
        return VideoDetectionPlan(base, every, 0, base)
    full_every = max(1, round((fps or 25) / VIDEO_FULL_RES_PER_S / every)) * every
    return VideoDetectionPlan(base, every, full_every, min(long_side, VIDEO_FULL_RES_MAX_SIDE_PX))
