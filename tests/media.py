"""Small synthetic videos and photos for tests: textured squares that move (so that
pixelation is measurable), optional audio, any frame rate, rotation, container."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def texture(size_px: int, seed: int) -> np.ndarray:
    """A high-detail RGB patch (random checker of 2-px cells)."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 256, (size_px // 2 + 1, size_px // 2 + 1, 3), dtype=np.uint8)
    return np.repeat(np.repeat(cells, 2, axis=0), 2, axis=1)[:size_px, :size_px]


@dataclass(frozen=True)
class Square:
    """A textured square moving linearly: top-left at (x0 + vx*i, y0 + vy*i) on frame i."""

    x0: float
    y0: float
    size_px: int
    vx: float = 0.0
    vy: float = 0.0
    seed: int = 1

    def xyxy(self, frame_index: int) -> np.ndarray:
        x = self.x0 + self.vx * frame_index
        y = self.y0 + self.vy * frame_index
        return np.array([x, y, x + self.size_px, y + self.size_px], np.float32)


def draw_frame(width: int, height: int, index: int, squares: list[Square],
               background: int = 90) -> np.ndarray:
    image = np.full((height, width, 3), background, np.uint8)
    image[:, :, 1] = (np.arange(width)[None, :] * 255 // max(width - 1, 1)).astype(np.uint8)
    for sq in squares:
        x1, y1, x2, y2 = (int(round(v)) for v in sq.xyxy(index))
        patch = texture(sq.size_px, sq.seed)
        cx1, cy1, cx2, cy2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
        if cx2 > cx1 and cy2 > cy1:
            image[cy1:cy2, cx1:cx2] = patch[cy1 - y1:cy2 - y1, cx1 - x1:cx2 - x1]
    return image


def make_video(path: Path, *, width: int = 160, height: int = 120, frames: int = 15,
               rate: Fraction = Fraction(30), pts: list[int] | None = None,
               time_base: Fraction | None = None, squares: list[Square] | None = None,
               audio: str | None = "aac", rotation_deg: int = 0, codec: str = "libx264",
               pix_fmt: str = "yuv420p", container_format: str | None = None,
               metadata: dict | None = None, frame_fn=None) -> Path:
    """Write a test video; ``pts`` (in ``time_base``) gives variable frame timing."""
    squares = squares if squares is not None else [Square(20, 20, 40, vx=2, vy=1)]
    with av.open(str(path), "w", format=container_format) as out:
        if metadata:
            out.metadata.update(metadata)
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if time_base is not None:
            stream.time_base = time_base
            stream.codec_context.time_base = time_base
        if rotation_deg:
            stream.set_display_rotation(rotation_deg)
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "crf": "10"}
        audio_stream = None
        if audio:
            audio_stream = out.add_stream(audio, rate=48000)
            audio_stream.layout = "mono"
        for i in range(frames):
            image = frame_fn(i) if frame_fn else draw_frame(width, height, i, squares)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            if pts is not None:
                frame.pts = pts[i]
                frame.time_base = time_base
            else:
                frame.pts = i
                frame.time_base = 1 / rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        if audio_stream is not None:
            duration_s = frames / float(rate)
            samples = int(48000 * duration_s)
            t = np.arange(samples) / 48000
            tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = (tone[start:start + 1024] * 32767).astype(np.int16)[None, :]
                af = av.AudioFrame.from_ndarray(chunk, format="s16", layout="mono")
                af.sample_rate = 48000
                af.pts = start
                for packet in audio_stream.encode(af):
                    out.mux(packet)
            for packet in audio_stream.encode(None):
                out.mux(packet)
    return path


@dataclass(frozen=True)
class Decoded:
    width: int
    height: int
    codec: str
    pix_fmt: str
    times_s: list[Fraction]
    frames: list[np.ndarray]
    audio_packets: list[list[bytes]]
    audio_codecs: list[str]
    container_tags: dict
    stream_tags: list[dict]


def read_video(path: Path, keep_frames: bool = True) -> Decoded:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        times, frames = [], []
        for f in c.decode(v):
            times.append(f.pts * f.time_base if f.pts is not None else None)
            if keep_frames:
                frames.append(f.to_ndarray(format="rgb24"))
        width, height = v.codec_context.width, v.codec_context.height
        codec, pix_fmt = v.codec_context.name, v.codec_context.pix_fmt
        tags = dict(c.metadata)
        stream_tags = [dict(s.metadata) for s in c.streams]
    with av.open(str(path)) as c:
        audio_codecs = [a.codec_context.name for a in c.streams.audio]
        packets: dict[int, list[bytes]] = {a.index: [] for a in c.streams.audio}
        if c.streams.audio:
            for p in c.demux(c.streams.audio):
                if p.size:
                    packets[p.stream.index].append(bytes(p))
    return Decoded(width, height, codec, pix_fmt, times, frames, list(packets.values()),
                   audio_codecs, tags, stream_tags)
