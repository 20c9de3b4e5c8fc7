"""Small generated videos for tests: a textured square moving over a gradient, with AAC audio."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def make_clip(path: Path, *, seconds: float = 1.0, size_wh: tuple[int, int] = (160, 120),
              fps: int = 25, has_audio: bool = True) -> Path:
    width, height = size_wh
    frames = int(round(seconds * fps))
    rng = np.random.default_rng(7)
    texture = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:height, 0:width]
    background = np.stack([xx * 255 // max(width - 1, 1), yy * 255 // max(height - 1, 1),
                           np.full_like(xx, 96)], axis=2).astype(np.uint8)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast"}
        audio = None
        if has_audio:
            audio = container.add_stream("aac", rate=44100)
            audio.layout = "mono"
        for i in range(frames):
            image = background.copy()
            x = (i * 4) % max(width - 32, 1)
            y = (i * 2) % max(height - 32, 1)
            image[y:y + 32, x:x + 32] = texture
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if audio is not None:
            samples = int(seconds * 44100)
            t = np.arange(samples) / 44100
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
            chunk = 1024
            for start in range(0, samples, chunk):
                piece = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, start:start + chunk]),
                                                   format="fltp", layout="mono")
                piece.sample_rate = 44100
                piece.pts = start
                container.mux(audio.encode(piece))
            container.mux(audio.encode())
    return path


def count_frames_and_audio_packets(path: Path) -> tuple[int, int]:
    with av.open(str(path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    with av.open(str(path)) as container:
        audio_packets = sum(1 for p in container.demux(audio=0) if p.size) if container.streams.audio else 0
    return frames, audio_packets
