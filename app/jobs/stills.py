"""A before/after pair of JPEG stills for the job page, taken in the worker (never the web
process): the same moment of the input and the result, chosen where a face was hidden."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import av
import cv2
import numpy as np

from app.pipeline.decode import main_video_stream

log = logging.getLogger(__name__)
MAX_WIDTH_PX = 960


def pick_time_s(report: dict, video: dict) -> float:
    """The middle of the longest track in the report, else the middle of the video."""
    rate = _fraction(report.get("video", {}).get("average_rate") or video.get("average_rate"))
    best = None
    for track in report.get("tracks") or []:
        if not isinstance(track, dict):
            continue
        first, last = track.get("first_frame"), track.get("last_frame")
        if isinstance(first, int) and isinstance(last, int) and rate:
            if best is None or last - first > best[1] - best[0]:
                best = (first, last)
    if best is not None:
        return (best[0] + best[1]) / 2 / rate
    duration = video.get("duration_s") or 0.0
    return max(float(duration) / 2, 0.0)


def _fraction(value) -> float:
    try:
        from fractions import Fraction

        return float(Fraction(str(value)))
    except (ValueError, ZeroDivisionError, TypeError):
        return 0.0


def frame_at(path: Path, time_s: float) -> np.ndarray | None:
    """The first frame shown at or after ``time_s`` (BGR), or the last frame before the end."""
    with av.open(str(path)) as container:
        stream = main_video_stream(container)
        stream.thread_type = "AUTO"
        if time_s > 0 and stream.time_base:
            container.seek(int(time_s / stream.time_base), stream=stream, backward=True)
        image = None
        for frame in container.decode(stream):
            image = frame.to_ndarray(format="bgr24")
            if frame.time is None or frame.time >= time_s - 1e-3:
                break
        return image


def save_jpeg(image_bgr: np.ndarray, path: Path) -> None:
    h, w = image_bgr.shape[:2]
    if w > MAX_WIDTH_PX:
        image_bgr = cv2.resize(image_bgr, (MAX_WIDTH_PX, round(h * MAX_WIDTH_PX / w)),
                               interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise OSError(f"could not encode a JPEG for {path.name}")
    tmp = path.with_name(path.name + ".partial")
    tmp.write_bytes(data.tobytes())
    os.replace(tmp, path)


def make_stills(input_path: Path, result_path: Path, before: Path, after: Path,
                report: dict, video: dict) -> None:
    time_s = pick_time_s(report, video)
    for source, target in ((input_path, before), (result_path, after)):
        image = frame_at(source, time_s)
        if image is not None:
            save_jpeg(image, target)
