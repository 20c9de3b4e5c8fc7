"""Video output with PyAV: H.264/yuv420p MP4 with the index at the front, every frame at its
input timestamp, audio copied packet for packet (or AAC where MP4 cannot hold the codec),
and no private metadata. Written under a temporary name and renamed when complete."""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from app.pipeline.errors import OutputError
from app.pipeline.types import VideoInfo

log = logging.getLogger(__name__)

# Audio codecs MP4 can carry as they are (and browsers mostly play); others become AAC.
MP4_AUDIO_CODECS = {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}
# Stream tags that are safe to keep. Everything else (creation_time, location, make, model,
# encoder software, handler names with device names...) is dropped.
KEPT_STREAM_TAGS = {"language"}
STANDARD_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1",
                    8: "7.1"}
# superfast's motion search and partitions with veryfast's rate control (macroblock tree over a
# 10-frame lookahead; superfast alone turns it off and, at the same crf, writes files 1.7-3x
# larger). Against veryfast on three 720p clips: encoding 33-42% less CPU, files 3-12% larger,
# PSNR to the input 0.5 dB lower to 0.1 dB higher, at 47-50 dB (bench/RESULTS.md, encoder);
# the whole CLI 5-15% faster (cli-ab-encoder).
X264_OPTIONS = {"preset": "superfast", "crf": "18", "x264-params": "mbtree=1:rc-lookahead=10"}


def even_size(width: int, height: int) -> tuple[int, int]:
    """H.264 in 4:2:0 needs even dimensions (its cropping unit is 2 pixels)."""
    return width + width % 2, height + height % 2


def pad_to_even(image_rgb: np.ndarray) -> np.ndarray:
    h, w = image_rgb.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return image_rgb
    return np.pad(image_rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def temporary_path(output_path: Path) -> Path:
    return output_path.with_name(f".{output_path.stem}.partial{output_path.suffix or '.mp4'}")


class VideoWriter:
    """Write frames of ``info``'s video (display-oriented RGB) plus its audio streams.

    Usage: ``with VideoWriter(info, out) as w: w.write(rgb, pts) ...; w.copy_packet(p)``.
    The output appears at ``output_path`` only when ``close`` succeeds.
    """

    def __init__(self, info: VideoInfo, output_path: Path, input_container=None) -> None:
        self.info = info
        self.output_path = Path(output_path)
        self.temp_path = temporary_path(self.output_path)
        try:
            self.output_path.parent.mkdir(parents=True, exist_ok=True)
            self.container = av.open(str(self.temp_path), mode="w", format="mp4",
                                     options={"movflags": "+faststart"})
        except (OSError, av.FFmpegError) as error:
            raise OutputError(f"Cannot write the output {str(output_path)!r}: "
                              f"{getattr(error, 'strerror', None) or error}.") from None
        width, height = even_size(info.width, info.height)
        rate = info.average_rate if info.average_rate > 0 else Fraction(25)
        self.video = self.container.add_stream("libx264", rate=rate, options=dict(X264_OPTIONS))
        self.video.width, self.video.height = width, height
        self.video.pix_fmt = "yuv420p"
        # x264's frame threads, not PyAV's default of slice threads: encoding 132 720p frames
        # alone 10-25% faster, files no larger (the whole CLI: bench/RESULTS.md, cli-ab).
        self.video.thread_type = "FRAME"
        self.video.time_base = info.time_base
        self.video.codec_context.time_base = info.time_base
        self.audio_map: dict[int, tuple[av.stream.Stream, bool]] = {}
        self._resamplers: dict[int, tuple[av.AudioResampler, av.AudioFifo]] = {}
        if input_container is not None:
            for in_stream in input_container.streams.audio:
                self._add_audio(in_stream)
        self.frames_written = 0
        self._closed = False

    def _add_audio(self, in_stream) -> None:
        codec = in_stream.codec_context.name if in_stream.codec_context else None
        if codec in MP4_AUDIO_CODECS:
            out = self.container.add_stream_from_template(in_stream)
            copy = True
        else:
            rate = in_stream.codec_context.sample_rate or 48000
            # A layout named by its channel count only ("1 channels") cannot open the encoder.
            channels = in_stream.codec_context.channels or 2
            layout = STANDARD_LAYOUTS.get(channels, "stereo")
            out = self.container.add_stream("aac", rate=rate, layout=layout)
            self._resamplers[in_stream.index] = (
                av.AudioResampler(format="fltp", layout=layout, rate=rate), av.AudioFifo())
            copy = False
        for key in list(out.metadata):
            if key not in KEPT_STREAM_TAGS:
                del out.metadata[key]
        if in_stream.language:
            out.metadata["language"] = in_stream.language
        self.audio_map[in_stream.index] = (out, copy)

    def write(self, image_rgb: np.ndarray, pts: int) -> None:
        frame = av.VideoFrame.from_ndarray(pad_to_even(image_rgb), format="rgb24")
        frame = frame.reformat(format="yuv420p")
        frame.pts = pts
        frame.time_base = self.info.time_base
        self._mux(self.video.encode(frame))
        self.frames_written += 1

    def write_planes(self, planes: np.ndarray, pts: int) -> None:
        """Encode a (H * 3 / 2, W) planar 4:2:0 frame (as ``VideoFrame.to_ndarray`` gives it)."""
        frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
        frame.pts = pts
        frame.time_base = self.info.time_base
        self._mux(self.video.encode(frame))
        self.frames_written += 1

    def write_frame(self, frame: av.VideoFrame, pts: int) -> None:
        """Encode a decoded frame as it is (no faces in it, no rotation, even size)."""
        out = frame.reformat(format="yuv420p") if frame.format.name != "yuv420p" else frame
        out.pts = pts
        out.time_base = self.info.time_base
        out.pict_type = av.video.frame.PictureType.NONE
        self._mux(self.video.encode(out))
        self.frames_written += 1

    def copy_packet(self, packet: av.Packet) -> None:
        """Pass one demuxed audio packet through (copy) or re-encode it to AAC."""
        target = self.audio_map.get(packet.stream.index)
        if target is None or packet.dts is None and packet.size == 0:
            return
        out, copy = target
        if copy:
            if packet.size == 0:
                return
            packet.stream = out
            self.container.mux(packet)
        else:
            self._transcode(packet.stream.index, out, packet.decode())

    def _transcode(self, index: int, out, frames, flush: bool = False) -> None:
        resampler, fifo = self._resamplers[index]
        for frame in frames:
            for resampled in resampler.resample(frame):
                resampled.pts = None
                fifo.write(resampled)
        frame_size = out.codec_context.frame_size or 1024
        while fifo.samples >= frame_size or (flush and fifo.samples):
            chunk = fifo.read(min(frame_size, fifo.samples))
            chunk.pts = None
            self._mux(out.encode(chunk))

    def _mux(self, packets) -> None:
        for packet in packets:
            self.container.mux(packet)

    def close(self) -> None:
        """Flush the encoders, finish the file, and move it into place."""
        if self._closed:
            return
        self._closed = True
        try:
            self._mux(self.video.encode(None))
            for index, (out, copy) in self.audio_map.items():
                if not copy:
                    self._transcode(index, out, [None], flush=True)
                    self._mux(out.encode(None))
            self.container.close()
        except BaseException:
            self.abort()
            raise
        os.replace(self.temp_path, self.output_path)

    def abort(self) -> None:
        """Drop the partial file: nothing half-written is ever left at output_path."""
        self._closed = True
        try:
            self.container.close()
        except (av.FFmpegError, OSError, ValueError) as error:
            log.debug("closing an aborted output: %s", error)
        self.temp_path.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
