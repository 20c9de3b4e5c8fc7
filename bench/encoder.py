"""x264 settings side by side: encoding time and CPU, file size, and how far the output is from
the input (PSNR of the luma plane), on the same decoded frames, interleaved.

    .venv/bin/python bench/encoder.py [--clips A.mp4 B.mp4 ...] [--repeats 3]

Each clip is decoded once into memory (yuv420p); every setting then encodes those frames with
frame threads, as Veil's writer does (app/pipeline/encode.py), and runs take turns so that they
meet the same load. Veil's own setting is the row "Veil"; the others are what it was chosen
against. PSNR compares each decoded output frame with the decoded input frame (Y plane): what
the re-encode itself costs, before any face is hidden.
Default clips: the 720p clips with audio in ../shared/eval/clips.
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
from common import (EVAL_DIR, OUT_DIR, ROOT, command_line, machine_note, md_table,  # noqa: E402
                    write_section)

sys.path.insert(0, str(ROOT))
from app.pipeline.encode import X264_OPTIONS  # noqa: E402

SETTINGS = {
    "veryfast, crf 18 (Veil before)": {"preset": "veryfast", "crf": "18"},
    "superfast, crf 18": {"preset": "superfast", "crf": "18"},
    "Veil": dict(X264_OPTIONS),
}
DEFAULT_CLIPS = [EVAL_DIR / "clips" / "single_face" / "wider_repo_test.mp4",
                 EVAL_DIR / "clips" / "multi_person" / "2person.mp4",
                 EVAL_DIR / "clips" / "multi_person" / "obama_short.mp4"]


def decode_all(clip: Path) -> tuple[list[np.ndarray], object, int, int]:
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="yuv420p") for f in container.decode(stream)]
        return frames, stream.average_rate, stream.width, stream.height


def encode(frames: list[np.ndarray], rate, width: int, height: int, options: dict,
           out: Path) -> tuple[float, float]:
    """(wall s, CPU s of this process) to encode the frames into out."""
    wall, cpu = time.perf_counter(), time.process_time()
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=rate, options=dict(options))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.thread_type = "FRAME"
        for index, planes in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return time.perf_counter() - wall, time.process_time() - cpu


def luma_psnr(frames: list[np.ndarray], out: Path, height: int) -> float:
    squared = []
    with av.open(str(out)) as container:
        for original, frame in zip(frames, container.decode(video=0)):
            diff = original[:height].astype(np.float32) - frame.to_ndarray(format="yuv420p")[:height]
            squared.append(float(np.mean(diff * diff)))
    return float(10 * np.log10(255.0 ** 2 / np.mean(squared)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=Path, nargs="+", default=DEFAULT_CLIPS)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    out_dir = OUT_DIR / "encoder"
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for clip in args.clips:
        frames, rate, width, height = decode_all(clip)
        walls = {name: [] for name in SETTINGS}
        cpus = {name: [] for name in SETTINGS}
        for _ in range(args.repeats):
            for index, (name, options) in enumerate(SETTINGS.items()):
                wall, cpu = encode(frames, rate, width, height, options, out_dir / f"{clip.stem}_{index}.mp4")
                walls[name].append(wall)
                cpus[name].append(cpu)
        base = list(SETTINGS)[0]
        base_size = (out_dir / f"{clip.stem}_0.mp4").stat().st_size
        base_cpu = statistics.median(cpus[base])
        for index, name in enumerate(SETTINGS):
            out = out_dir / f"{clip.stem}_{index}.mp4"
            size = out.stat().st_size
            cpu = statistics.median(cpus[name])
            rows.append([f"{clip.name} ({width}x{height}, {len(frames)} frames)", name,
                         f"{statistics.median(walls[name]):.2f}", f"{cpu:.2f}",
                         f"{cpu / base_cpu:.2f}", f"{size / 1e6:.2f}", f"{size / base_size:.2f}",
                         f"{luma_psnr(frames, out, height):.2f}",
                         " / ".join(f"{c:.2f}" for c in cpus[name])])
            print(rows[-1], flush=True)
    settings = "; ".join(f"{name}: `{options}`" for name, options in SETTINGS.items())
    body = (f"### Encoder settings\n\n`{command_line()}` ({machine_note()}; {args.repeats} interleaved "
            f"runs per setting, median; the same decoded frames for every setting; CPU = this "
            f"process's user+system time, x264's threads included; PSNR of the luma plane against "
            f"the decoded input). Settings: {settings}\n\n"
            + md_table(["clip", "setting", "wall s", "CPU s", "CPU x before", "MB", "size x before",
                        "PSNR dB", "CPU runs (s)"], rows))
    write_section("encoder", body)


if __name__ == "__main__":
    main()
