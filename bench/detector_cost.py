"""Detector cost per scale: CenterFace (Veil's cleaned graph on ONNX Runtime) in ms per frame.

    .venv/bin/python bench/detector_cost.py [--repeats 3] [--frames 20]

Frames are real 720p video frames (resized up or down to each size, as the engine's resize
does). Each size is timed --repeats times, interleaved, median reported, with the resize
included (it is part of the cost of detecting at a reduced scale).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import CLIP_720P, command_line, machine_note, md_table, write_section  # noqa: E402

from app.pipeline.detect import CenterFace  # noqa: E402

SIZES_WH = ((640, 360), (960, 540), (1280, 720), (1920, 1080))
CLIP = CLIP_720P


def frames(path: Path, count: int) -> list[np.ndarray]:
    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            out.append(frame.to_ndarray(format="rgb24"))
            if len(out) == count:
                break
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--frames", type=int, default=20)
    args = parser.parse_args()
    images = frames(CLIP, args.frames)  # 1280x720
    detector = CenterFace(min_score=0.3)
    for _ in range(3):  # warm up every size once
        for w, _h in SIZES_WH:
            detector.detect(images[0], w)
    times: dict[tuple[int, int], list[float]] = {s: [] for s in SIZES_WH}
    for _ in range(args.repeats):
        for size in SIZES_WH:
            t0 = time.perf_counter()
            for image in images:
                detector.detect(image, size[0])
            times[size].append((time.perf_counter() - t0) / len(images) * 1000)
    base = statistics.median(times[SIZES_WH[0]])
    rows = []
    for size in SIZES_WH:
        ms = statistics.median(times[size])
        rows.append([f"{size[0]}x{size[1]}", round(ms, 1), round(1000 / ms, 1), round(ms / base, 2),
                     " / ".join(f"{t:.1f}" for t in times[size])])
        print(rows[-1])
    body = (f"### Detector cost per scale\n\n`{command_line()}` ({machine_note()}; "
            f"{args.frames} frames of {CLIP.name} x {args.repeats} interleaved runs, median; "
            "includes the resize)\n\n"
            + md_table(["detector input", "ms / frame", "frames / s", "x 640x360", "runs (ms)"], rows))
    write_section("detector-cost", body)


if __name__ == "__main__":
    main()
