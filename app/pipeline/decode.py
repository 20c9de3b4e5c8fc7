"""Video input with PyAV: probe, then frames in display orientation with their timestamps."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from app.pipeline.errors import InputError
from app.pipeline.types import AudioStreamInfo, Frame, VideoInfo

log = logging.getLogger(__name__)

FALLBACK_RATE = Fraction(25)


def open_container(path: Path) -> av.container.InputContainer:
    """Open for reading; every failure becomes an InputError sentence."""
    name = Path(path).name
    if not Path(path).exists():
        raise InputError(f"The file {name!r} does not exist.")
    if Path(path).is_dir():
        raise InputError(f"{name!r} is a folder, not a video file.")
    try:
        return av.open(str(path), mode="r")
    except (av.error.InvalidDataError, UnicodeDecodeError):
        raise InputError(f"{name!r} is not a video file Veil can read.") from None
    except av.error.EOFError:
        raise InputError(f"{name!r} has zero frames: the file ends before its first frame.") from None
    except av.error.PermissionError:
        raise InputError(f"{name!r} cannot be read: permission denied.") from None
    except av.FFmpegError as error:
        raise InputError(f"{name!r} could not be opened as a video ({error.strerror}).") from None


# A cover picture or thumbnail stored as a "video" stream is not the video.
_NOT_THE_VIDEO = (av.stream.Disposition.attached_pic | av.stream.Disposition.still_image
                  | av.stream.Disposition.timed_thumbnails)


def main_video_stream(container) -> av.video.stream.VideoStream:
    """The stream to anonymise: the first video stream that is not a cover picture or a
    thumbnail track, preferring one marked default. InputError when there is none."""
    candidates = [s for s in container.streams.video if not s.disposition & _NOT_THE_VIDEO]
    if not candidates:
        name = Path(container.name).name
        if container.streams.video:
            raise InputError(f"{name!r} has only a cover picture, no video stream.")
        raise InputError(f"{name!r} has no video stream.")
    defaults = [s for s in candidates if s.disposition & av.stream.Disposition.default]
    return (defaults or candidates)[0]


def _rotation_of_first_frame(container, stream) -> tuple[int, Frame | None]:
    for frame in container.decode(stream):
        return int(round(frame.rotation or 0)) % 360, frame
    return 0, None


def probe_video(path: Path, decode_first_frame: bool = True) -> VideoInfo:
    """Read the container header and decode the first frame (to learn the rotation and prove
    that the stream decodes). Raises InputError with one sentence when the file is unusable.

    ``decode_first_frame=False`` reads headers only (the web process's upload check): the
    rotation is then reported as 0 and the sizes are the stream's coded ones.
    """
    path = Path(path)
    name = path.name
    with open_container(path) as container:
        stream = main_video_stream(container)
        ctx = stream.codec_context
        if ctx is None or ctx.codec is None:
            raise InputError(f"{name!r} uses a video codec Veil cannot decode.")
        if decode_first_frame:
            try:
                rotation, first = _rotation_of_first_frame(container, stream)
            except av.FFmpegError:
                raise InputError(f"{name!r} has a video stream that cannot be decoded.") from None
            if first is None:
                raise InputError(f"{name!r} has a video stream with zero frames.")
            coded_w, coded_h = first.width, first.height
        else:
            rotation, (coded_w, coded_h) = 0, (ctx.width, ctx.height)
            if not coded_w or not coded_h:
                raise InputError(f"{name!r} has a video stream without a picture size.")
        width, height = (coded_h, coded_w) if rotation in (90, 270) else (coded_w, coded_h)
        rate = stream.average_rate or stream.guessed_rate or FALLBACK_RATE
        time_base = stream.time_base or Fraction(1, rate.numerator) / rate.denominator
        duration_s = None
        if stream.duration is not None and stream.time_base:
            duration_s = float(stream.duration * stream.time_base)
        elif container.duration:
            duration_s = container.duration / av.time_base
        estimate = stream.frames or (round(duration_s * float(rate)) if duration_s else 0)
        audio = tuple(
            AudioStreamInfo(a.index, a.codec_context.name if a.codec_context else "unknown",
                            a.codec_context.sample_rate if a.codec_context else 0,
                            a.codec_context.channels if a.codec_context else 0)
            for a in container.streams.audio
        )
        return VideoInfo(
            path=str(path), container=container.format.name, codec=ctx.name,
            width=width, height=height, coded_width=coded_w, coded_height=coded_h,
            rotation_deg=rotation, time_base=Fraction(time_base), average_rate=Fraction(rate),
            duration_s=duration_s, frame_count_estimate=int(estimate), audio=audio,
        )


def to_display_rgb(frame: av.VideoFrame, rotation_deg: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB, turned as a player would show it."""
    image = frame.to_ndarray(format="rgb24")
    k = (rotation_deg // 90) % 4
    return np.ascontiguousarray(np.rot90(image, k)) if k else image


class FrameClock:
    """Gives every decoded frame a pts, inventing evenly spaced ones where the stream has none
    (raw .h264/.h265 elementary streams) and never letting them go backwards."""

    def __init__(self, info: VideoInfo) -> None:
        self.step = max(1, round(1 / (info.average_rate * info.time_base)))
        self.last: int | None = None

    def pts_of(self, frame: av.VideoFrame) -> int:
        pts = frame.pts if frame.pts is not None else frame.dts
        if pts is None or (self.last is not None and pts <= self.last):
            pts = 0 if self.last is None else self.last + self.step
        self.last = pts
        return pts


def yuv420_planes(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y, U and V of a planar 4:2:0 frame as (H, W) and (H/2, W/2) uint8 views into the
    decoded frame (no copy; rows padded by the decoder are cut off). Valid while the frame is."""
    return tuple(np.frombuffer(plane, np.uint8)[:plane.line_size * plane.height]
                 .reshape(plane.height, plane.line_size)[:, :plane.width] for plane in frame.planes[:3])


def iter_video_frames(info: VideoInfo) -> Iterator[tuple[int, int, av.VideoFrame]]:
    """(index, pts, decoded frame) for every frame of the first video stream, in presentation
    order, as stored (not yet turned; see ``to_display_rgb``)."""
    with open_container(Path(info.path)) as container:
        stream = main_video_stream(container)
        stream.thread_type = "AUTO"
        clock = FrameClock(info)
        try:
            for index, frame in enumerate(container.decode(stream)):
                yield index, clock.pts_of(frame), frame
        except av.FFmpegError as error:
            raise InputError(
                f"{Path(info.path).name!r} could not be decoded past frame {clock.last} "
                f"({error.strerror})."
            ) from None


def iter_frames(info: VideoInfo) -> Iterator[Frame]:
    """Every frame of the first video stream, in presentation order, display-oriented RGB."""
    for index, pts, frame in iter_video_frames(info):
        yield Frame(index, pts, float(pts * info.time_base), to_display_rgb(frame, info.rotation_deg))
