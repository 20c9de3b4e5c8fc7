"""Tracking: detections per frame -> face tracks covering every frame, failing closed.

``Tracker`` links detections frame by frame (it may be fed only some frames: the
detector can skip frames). ``finalize_tracks`` is pure: it fills gaps by interpolation, pads
each track before its first and after its last detection, grows the boxes, and never lets a
track cross a scene cut.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from app.pipeline.boxes import clip_boxes, iou_matrix, scale_boxes
from app.pipeline.types import FaceBoxes, Track, TrackOptions


@dataclass
class RawTrack:
    """Detections linked into one track: frame indices and boxes as detected."""

    track_id: int
    frame_index: list[int] = field(default_factory=list)
    xyxy: list[np.ndarray] = field(default_factory=list)
    score: list[float] = field(default_factory=list)

    def add(self, frame_index: int, xyxy: np.ndarray, score: float) -> None:
        self.frame_index.append(frame_index)
        self.xyxy.append(np.asarray(xyxy, np.float32))
        self.score.append(float(score))

    def is_confirmed(self, sure_score: float, min_weak_detections: int) -> bool:
        """A face to hide: one of its detections is sure, or it was found on at least
        ``min_weak_detections`` detection frames (schedule.py, "Weak faces in video")."""
        return (len(self.frame_index) >= min_weak_detections
                or any(score >= sure_score for score in self.score))

    def predict(self, frame_index: int) -> np.ndarray:
        """Box expected at ``frame_index`` by constant velocity from the last two detections."""
        last = self.xyxy[-1]
        if len(self.xyxy) < 2:
            return last
        df = self.frame_index[-1] - self.frame_index[-2]
        velocity = (last - self.xyxy[-2]) / max(df, 1)
        return last + velocity * (frame_index - self.frame_index[-1])


def _match_scores(predicted: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """(T, 4), (D, 4) -> (T, D) in 0..1: IoU, or closeness of centres for boxes of similar size
    that moved further than their own overlap (fast motion, skipped frames)."""
    iou = iou_matrix(predicted, detected)
    centre_p = (predicted[:, None, :2] + predicted[:, None, 2:]) / 2
    centre_d = (detected[None, :, :2] + detected[None, :, 2:]) / 2
    size_p = np.maximum(predicted[:, None, 2:] - predicted[:, None, :2], 1).max(axis=2)
    size_d = np.maximum(detected[None, :, 2:] - detected[None, :, :2], 1).max(axis=2)
    distance = np.linalg.norm(centre_p - centre_d, axis=2) / np.maximum(size_p, size_d)
    size_ratio = np.minimum(size_p, size_d) / np.maximum(size_p, size_d)
    closeness = np.where(size_ratio > 0.5, np.clip(1 - distance / 2, 0, 1) * 0.5, 0)
    return np.maximum(iou, closeness)


class Tracker:
    """Greedy online association. A track ends when unmatched for more than
    ``max_gap_frames`` frames, or at a scene cut.

    Sure detections (>= ``sure_score``) go to confirmed tracks first (RawTrack.is_confirmed),
    then every other pair by how well it matches, as ByteTrack does: a weak detection near a
    face, or a weak track started there, must not take that face's sure detection from its
    own track (on YouTube Faces turned 180 degrees, weak detections taken first split a face
    into three tracks, each padded at its ends)."""

    def __init__(self, max_gap_frames: int, min_match: float = 0.1, sure_score: float = 0.0,
                 min_weak_detections: int = 1) -> None:
        if max_gap_frames < 0:
            raise ValueError(f"max_gap_frames must be >= 0, got {max_gap_frames!r}")
        self.max_gap_frames = max_gap_frames
        self.min_match = min_match
        self.sure_score = sure_score
        self.min_weak_detections = min_weak_detections
        self.live: list[RawTrack] = []
        self.done: list[RawTrack] = []
        self.next_id = 1

    def update(self, frame_index: int, faces: FaceBoxes, is_cut: bool = False) -> np.ndarray:
        """Link this frame's faces; returns (N,) track ids, one per face."""
        if is_cut:
            self.done.extend(self.live)
            self.live = []
        still_live = []
        for track in self.live:
            if frame_index - track.frame_index[-1] > self.max_gap_frames + 1:
                self.done.append(track)
            else:
                still_live.append(track)
        self.live = still_live
        ids = np.zeros(len(faces), np.int64)
        unmatched = set(range(len(faces)))
        if self.live and len(faces):
            predicted = np.stack([t.predict(frame_index) for t in self.live])
            scores = _match_scores(predicted, faces.xyxy)
            confirmed = np.array([t.is_confirmed(self.sure_score, self.min_weak_detections)
                                  for t in self.live])
            first = confirmed[:, None] & (faces.score >= self.sure_score)[None, :]
            pairs = np.flatnonzero(scores >= self.min_match)
            pairs = pairs[np.argsort(-(scores + first).ravel()[pairs], kind="stable")]
            for t, d in zip(*np.unravel_index(pairs, scores.shape)):
                if d not in unmatched or self.live[t].frame_index[-1] == frame_index:
                    continue
                self.live[t].add(frame_index, faces.xyxy[d], faces.score[d])
                ids[d] = self.live[t].track_id
                unmatched.discard(int(d))
        for d in sorted(unmatched):
            track = RawTrack(self.next_id)
            self.next_id += 1
            track.add(frame_index, faces.xyxy[d], faces.score[d])
            self.live.append(track)
            ids[d] = track.track_id
        return ids

    def finish(self) -> list[RawTrack]:
        """The confirmed tracks (RawTrack.is_confirmed; every track unless ``sure_score`` and
        ``min_weak_detections`` say otherwise), by id. Sure tracks keep their weak detections:
        a face that drops under ``sure_score`` for a while stays one track."""
        tracks = sorted(self.done + self.live, key=lambda t: t.track_id)
        self.done, self.live = [], []
        return [t for t in tracks if t.is_confirmed(self.sure_score, self.min_weak_detections)]


# A face seen sideways, upside down or half hidden is found at a low score with a box off by up
# to a third of the face (YouTube Faces turned 90 and 180 degrees: 1 face-frame each left
# visible at the weak first detection of a track; bench/video.py youtube --turn).
WEAK_DETECTION_SCORE = 0.5
WEAK_DETECTION_EXTRA_SCALE = 0.3
# Small faces' boxes are the least precise (and the passes that see them run least often): up
# to SMALL_FACE_EXTRA_SCALE more for faces whose longer side is at most small_face_px[0]
# (frame pixels), none from small_face_px[1] up; the engine sets small_face_px from its
# schedule (schedule.py, VIDEO_SMALL_FACE_BASE_PX).
SMALL_FACE_EXTRA_SCALE = 0.6


def scene_bounds(frame_index: int, cut_frames: list[int], frame_count: int) -> tuple[int, int]:
    """First and last frame of the scene containing ``frame_index`` (cuts start scenes)."""
    i = bisect.bisect_right(cut_frames, frame_index)
    start = cut_frames[i - 1] if i > 0 else 0
    end = cut_frames[i] - 1 if i < len(cut_frames) else frame_count - 1
    return start, end


def finalize_track(raw: RawTrack, frame_count: int, cut_frames: list[int], fps: float,
                   options: TrackOptions, resolution_wh: tuple[int, int],
                   min_pad_frames: tuple[int, int] = (0, 0),
                   small_face_px: tuple[float, float] | None = None) -> Track:
    """Fill, pad and grow one raw track into a Track covering every frame it spans.

    Padding is ``options.pad_s`` but at least ``min_pad_frames`` (before the track, after it):
    when the detector only looks every n frames, a face may have been there up to n - 1 frames
    before it was seen.
    """
    det_frames = np.asarray(raw.frame_index, np.int64)
    det_xyxy = np.stack(raw.xyxy).astype(np.float32)
    # Weak detections place their boxes least precisely: their hidden area grows
    # WEAK_DETECTION_EXTRA_SCALE more than box_scale.
    weak = np.asarray(raw.score, np.float32) < WEAK_DETECTION_SCORE
    extra = np.where(weak, WEAK_DETECTION_EXTRA_SCALE, 0.0)
    if small_face_px is not None:
        small, large = small_face_px
        size_px = np.max(det_xyxy[:, 2:] - det_xyxy[:, :2], axis=1)
        extra += SMALL_FACE_EXTRA_SCALE * np.clip((large - size_px) / (large - small), 0.0, 1.0)
    det_xyxy = scale_boxes(det_xyxy, (options.box_scale + extra) / options.box_scale)
    scene_start, scene_end = scene_bounds(int(det_frames[0]), cut_frames, frame_count)
    pad_s_frames = int(round(options.pad_s * fps))
    pad_before, pad_after = (max(pad_s_frames, pad) for pad in min_pad_frames)
    first = max(int(det_frames[0]) - pad_before, scene_start)
    last = min(int(det_frames[-1]) + pad_after, scene_end)
    frames = np.arange(first, last + 1, dtype=np.int64)
    # Interpolate each coordinate between detections. Over the padding the face was not seen:
    # hold the union of the boxes detected within one pad of the track's end, not the end box
    # alone (a first detection, often the weakest, can be off by a third of the face).
    xyxy = np.stack([np.interp(frames, det_frames, det_xyxy[:, c]) for c in range(4)], axis=1)
    for outside, near in ((frames < det_frames[0], det_frames <= det_frames[0] + pad_before),
                          (frames > det_frames[-1], det_frames >= det_frames[-1] - pad_after)):
        if outside.any():
            xyxy[outside] = np.concatenate([det_xyxy[near, :2].min(axis=0), det_xyxy[near, 2:].max(axis=0)])
    # Between two detections the face may not move linearly: widen filled boxes by a quarter
    # of the distance its centre travelled across the gap.
    centres = (det_xyxy[:, :2] + det_xyxy[:, 2:]) / 2
    travel = np.linalg.norm(np.diff(centres, axis=0), axis=1) if len(det_frames) > 1 else []
    margin = np.zeros(len(frames), np.float32)
    for (f0, f1), moved in zip(zip(det_frames[:-1], det_frames[1:]), travel):
        if f1 - f0 > 1:
            margin[(frames > f0) & (frames < f1)] = 0.25 * moved
    xyxy = scale_boxes(xyxy.astype(np.float32), options.box_scale)
    xyxy[:, :2] -= margin[:, None]
    xyxy[:, 2:] += margin[:, None]
    is_detected = np.isin(frames, det_frames)
    score = np.full(len(frames), np.nan, np.float32)
    score[np.searchsorted(frames, det_frames)] = raw.score
    return Track(raw.track_id, frames, clip_boxes(xyxy, resolution_wh), score, is_detected)


def finalize_tracks(raw_tracks: list[RawTrack], frame_count: int, cut_frames: list[int],
                    fps: float, options: TrackOptions, resolution_wh: tuple[int, int],
                    min_pad_frames: Callable[[RawTrack], tuple[int, int]] = lambda raw: (0, 0),
                    small_face_px: tuple[float, float] | None = None) -> list[Track]:
    return [finalize_track(r, frame_count, cut_frames, fps, options, resolution_wh,
                           min_pad_frames(r), small_face_px)
            for r in raw_tracks if r.frame_index]


def boxes_per_frame(tracks: list[Track], frame_count: int) -> list[list[np.ndarray]]:
    """For rendering: frame index -> list of (4,) xyxy boxes to hide."""
    per_frame: list[list[np.ndarray]] = [[] for _ in range(frame_count)]
    for track in tracks:
        for f, box in zip(track.frame_index, track.xyxy):
            if 0 <= f < frame_count:
                per_frame[f].append(box)
    return per_frame
