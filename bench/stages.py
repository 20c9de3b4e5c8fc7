"""Time per frame of each engine stage, and end-to-end fps next to the decode+encode floor,
on a 720p and a 1080p clip with audio (same run, interleaved, 3 repeats, median).

    .venv/bin/python bench/stages.py [--repeats 3]

The 1080p clip is 2person.mp4 scaled to 1920x1080 (audio copied), since ../shared/eval has
no landscape 1080p clip with audio: the same clip ``bench/video.py speed`` makes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.pipeline.anonymize import (analyse_video, anonymize_video, detection_plan,  # noqa: E402
                                    load_detector, load_full_res_detector)
from app.pipeline.decide import decide_all  # noqa: E402
from app.pipeline.decode import iter_frames, probe_video, yuv420_planes  # noqa: E402
from app.pipeline.redact import redact_yuv420  # noqa: E402
from app.pipeline.scene import frame_signature_yuv420  # noqa: E402
from app.pipeline.track import boxes_per_frame  # noqa: E402
from app.pipeline.types import AnonymizeOptions  # noqa: E402
from bench.common import CLIP_720P, OUT_DIR, command_line, machine_note, md_table, write_section  # noqa: E402
from bench.video import VIDEO_OUT, decode_encode_floor, make_1080p  # noqa: E402

CLIP_720 = CLIP_720P


class TimedDetector:
    """The detector, adding up the time of its calls (over all the threads that call it)."""

    def __init__(self, detector):
        self.detector, self.seconds, self.calls = detector, 0.0, 0
        self.concurrent_calls = getattr(detector, "concurrent_calls", 1)
        self.lock = threading.Lock()

    def detect(self, image_rgb, max_side_px):
        t0 = time.perf_counter()
        faces = self.detector.detect(image_rgb, max_side_px)
        with self.lock:
            self.seconds += time.perf_counter() - t0
            self.calls += 1
        return faces


def measure(clip: Path, detector, full_res_detector) -> dict[str, float]:
    """Seconds per frame of each stage (and fps end to end) for one run over the clip."""
    info = probe_video(clip)
    options = AnonymizeOptions()
    result: dict[str, float] = {}

    t0 = time.perf_counter()
    with av.open(str(clip)) as c:
        c.streams.video[0].thread_type = "AUTO"
        frames = sum(1 for _ in c.decode(video=0))
    result["decode"] = (time.perf_counter() - t0) / frames

    t0 = time.perf_counter()
    images = [f.image_rgb for f in iter_frames(info)]
    result["decode + RGB"] = (time.perf_counter() - t0) / frames

    del images
    with av.open(str(clip)) as c:
        decoded = [f for f, _ in zip(c.decode(video=0), range(60))]
        t0 = time.perf_counter()
        for frame in decoded:
            frame_signature_yuv420(*yuv420_planes(frame))
        result["scene signature (YUV)"] = (time.perf_counter() - t0) / len(decoded)
        planes = [f.to_ndarray() for f in decoded]

    timed, timed_full_res = TimedDetector(detector), TimedDetector(full_res_detector)
    t0 = time.perf_counter()
    analysis = analyse_video(clip, options, detector=timed, full_res_detector=timed_full_res)
    analyse_s = time.perf_counter() - t0
    result["detect (schedule, per frame, all threads' calls added)"] = (
        (timed.seconds + timed_full_res.seconds) / frames)
    result["analysis pass"] = analyse_s / frames

    per_frame = boxes_per_frame(analysis.tracks, analysis.frame_count)
    t0 = time.perf_counter()
    n = 0
    for boxes, plane in zip(per_frame, planes):
        redact_yuv420(plane, boxes, options.redact)
        n += 1
    result["redact (YUV planes)"] = (time.perf_counter() - t0) / max(n, 1)

    out = OUT_DIR / "stages" / f"{clip.stem}-floor.mp4"
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    decode_encode_floor(clip, out)
    floor_s = time.perf_counter() - t0
    result["decode + encode (floor)"] = floor_s / frames
    result["encode (floor - decode)"] = max(floor_s / frames - result["decode"], 0.0)

    t0 = time.perf_counter()
    anonymize_video(clip, OUT_DIR / "stages" / f"{clip.stem}-veil.mp4", options, detector=detector,
                   full_res_detector=full_res_detector)
    veil_s = time.perf_counter() - t0
    result["Veil end to end"] = veil_s / frames
    result["_frames"] = frames
    result["_plan"] = str(detection_plan(info, options))
    result["_tracks"] = len(analysis.tracks)
    result["_workers"] = timed.concurrent_calls
    assert len(decide_all(analysis.tracks)) == len(analysis.tracks)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    clip_1080 = VIDEO_OUT / "speed" / f"{CLIP_720.stem}_1080p.mp4"  # the clip bench/video.py speed uses
    if not clip_1080.exists():
        clip_1080.parent.mkdir(parents=True, exist_ok=True)
        make_1080p(CLIP_720, clip_1080)
    clips = {"720p": CLIP_720, "1080p": clip_1080}
    options = AnonymizeOptions()
    detector, full_res_detector = load_detector(options), load_full_res_detector(options)
    runs: dict[str, list[dict]] = {name: [] for name in clips}
    for _ in range(args.repeats):  # interleaved: each repeat runs every clip
        for name, clip in clips.items():
            runs[name].append(measure(clip, detector, full_res_detector))
            print(name, {k: round(v * 1000, 1) if isinstance(v, float) else v for k, v in runs[name][-1].items()})
    stages = [k for k in runs["720p"][0] if not k.startswith("_")]
    rows = []
    for stage in stages:
        row = [stage]
        for name in clips:
            values = [r[stage] for r in runs[name]]
            ms = statistics.median(values) * 1000
            row += [round(ms, 2), round(1000 / ms, 1) if ms > 0 else "-"]
        rows.append(row)
    header = ["stage", "720p ms/frame", "720p fps", "1080p ms/frame", "1080p fps"]
    floor = {n: statistics.median(r["decode + encode (floor)"] for r in runs[n]) for n in clips}
    veil = {n: statistics.median(r["Veil end to end"] for r in runs[n]) for n in clips}
    ratio = ", ".join(f"{n}: Veil runs at {floor[n] / veil[n]:.2f}x the floor's speed" for n in clips)
    body = (f"### Engine: time per frame of each stage\n\n`{command_line()}` ({machine_note()}; "
            f"{args.repeats} interleaved repeats, median; {runs['720p'][0]['_frames']} frames; "
            f"the analysis pass decodes in a second thread while the detector runs, "
            f"{runs['720p'][0]['_workers']} detection frames at once; "
            f"720p = `{CLIP_720.name}` with AAC audio, 1080p = the same scaled to "
            f"1920x1080; plan 720p `{runs['720p'][0]['_plan']}`, 1080p `{runs['1080p'][0]['_plan']}`)\n\n"
            + md_table(header, rows) +
            f"\n\nRows are not additive: the analysis pass includes decode, RGB, signature and "
            f"detection (the detect row adds up the time of calls that ran at once, so it can exceed "
            f"the analysis pass); Veil end to end = analysis pass + render pass (decode, redact, encode, "
            f"audio copy). {ratio}.\n")
    write_section("engine-stages", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
