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


# ---- two people: two textured squares (red, blue) for the scripted identity engine -----------

PERSON_COLOURS = ("red", "blue")
SQUARE_PX = 40


def person_texture(colour: str, seed: int, size_px: int = SQUARE_PX) -> np.ndarray:
    """(size, size, 3) uint8: 2x2-pixel blocks, strong in one channel (pixelation shows)."""
    rng = np.random.default_rng(seed)
    blocks = size_px // 2
    strong = rng.integers(170, 256, (blocks, blocks), dtype=np.uint8)
    weak = rng.integers(0, 50, (blocks, blocks, 2), dtype=np.uint8)
    channels = [weak[..., 0], weak[..., 1]]
    channels.insert(0 if colour == "red" else 2, strong)
    texture = np.stack(channels, axis=2)
    return np.repeat(np.repeat(texture, 2, axis=0), 2, axis=1)


def two_people_positions(i: int) -> dict[str, tuple[int, int]]:
    """Top-left (x, y) of each square in frame i: red moves in the left half, blue in the right."""
    return {"red": (8 + (i * 2) % 48, 20 + i % 20), "blue": (120 + i % 24, 80 - i % 16)}


def make_two_people_clip(path: Path, *, frames: int = 40, fps: int = 25,
                         size_wh: tuple[int, int] = (192, 144)) -> Path:
    """Two textured squares that move (no audio): 'red' and 'blue', two different people for
    tests.jobs.fake_engine.TwoPeopleEngine."""
    width, height = size_wh
    yy, xx = np.mgrid[0:height, 0:width]
    grey = (100 + (xx + yy) % 24).astype(np.uint8)
    background = np.stack([grey, grey, grey], axis=2)
    textures = {c: person_texture(c, seed) for seed, c in enumerate(PERSON_COLOURS)}
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "12"}
        for i in range(frames):
            image = background.copy()
            for colour, (x, y) in two_people_positions(i).items():
                image[y:y + SQUARE_PX, x:x + SQUARE_PX] = textures[colour]
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode())
    return path


def make_reference_photo(path: Path, *colours: str) -> Path:
    """A PNG 'portrait' of one person (a big square of their colour), of nobody (no colour),
    or of several people side by side."""
    import cv2

    image = np.full((200, 320, 3), 120, np.uint8)
    for k, colour in enumerate(colours):
        image[40:140, 10 + k * 110:110 + k * 110] = person_texture(colour, 9 + k, 100)
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return path


def read_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def changed(before: np.ndarray, after: np.ndarray, colour: str, frame: int) -> float:
    """Mean absolute difference inside one person's square in one frame."""
    x, y = two_people_positions(frame)[colour]
    inset = 4  # away from the edges, where encoding blurs colours into each other
    region = (slice(y + inset, y + SQUARE_PX - inset), slice(x + inset, x + SQUARE_PX - inset))
    return float(np.abs(before[region].astype(int) - after[region].astype(int)).mean())


def hidden_people_in(clip, result) -> set[str]:
    """The people ('red', 'blue') whose square changed in every frame; the others must be
    untouched in every frame."""
    before, after = read_frames(clip), read_frames(result)
    assert len(before) == len(after)
    hidden = set()
    for colour in ("red", "blue"):
        diffs = [changed(b, a, colour, i) for i, (b, a) in enumerate(zip(before, after))]
        # Pixelated: about 10-13 in every frame; untouched: 3-5 (encoding noise).
        if min(diffs) > 8:
            hidden.add(colour)
        else:
            assert max(diffs) < 6, f"{colour}: {[round(d, 1) for d in diffs]}"
    return hidden
