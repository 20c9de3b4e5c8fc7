"""The result of the analysis pass, kept so rendering (and the review step) can reuse it
without detecting again. JSON-serialisable."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.pipeline.types import FaceSample, Track, VideoInfo


@dataclass(frozen=True)
class Analysis:
    """tracks cover every frame they span; pts: (frame_count,) presentation timestamps in
    ``info.time_base`` units; cut_frames: frames that start a new scene."""

    info: VideoInfo
    frame_count: int
    pts: np.ndarray
    tracks: list[Track]
    cut_frames: list[int]
    samples: list[FaceSample] = field(default_factory=list)
    detected_frames: int = 0

    def tracks_to_dicts(self) -> list[dict]:
        return [track_to_dict(t) for t in self.tracks]

    def to_dict(self) -> dict:
        return {
            "frame_count": self.frame_count,
            "pts": self.pts.tolist(),
            "cut_frames": list(self.cut_frames),
            "detected_frames": self.detected_frames,
            "tracks": self.tracks_to_dicts(),
        }

    @classmethod
    def from_dict(cls, info: VideoInfo, data: dict) -> Analysis:
        return cls(info=info, frame_count=int(data["frame_count"]),
                   pts=np.asarray(data["pts"], np.int64),
                   tracks=[track_from_dict(t) for t in data["tracks"]],
                   cut_frames=[int(c) for c in data["cut_frames"]],
                   detected_frames=int(data.get("detected_frames", 0)))


def track_to_dict(track: Track) -> dict:
    return {
        "id": track.track_id,
        "first_frame": track.first_frame,
        "last_frame": track.last_frame,
        "detected_frames": track.detected_frames,
        # One row per frame: [frame, x1, y1, x2, y2, score or null, detected]
        "boxes": [
            [int(f), *[round(float(v), 1) for v in box],
             None if np.isnan(s) else round(float(s), 3), bool(d)]
            for f, box, s, d in zip(track.frame_index, track.xyxy, track.score, track.is_detected)
        ],
    }


def track_from_dict(data: dict) -> Track:
    rows = data["boxes"]
    return Track(
        track_id=int(data["id"]),
        frame_index=np.asarray([r[0] for r in rows], np.int64),
        xyxy=np.asarray([r[1:5] for r in rows], np.float32).reshape(-1, 4),
        score=np.asarray([np.nan if r[5] is None else r[5] for r in rows], np.float32),
        is_detected=np.asarray([r[6] for r in rows], bool),
    )
