"""Run Veil's engine on one video, optionally overriding its detection schedule.

    .venv/bin/python bench/veil_plan.py INPUT OUTPUT [--plan] [--base 640] [--every 3]
                     [--min-score S] [--box-scale X] [--threads N] [--no-turns]
                     [--full-res-centerface] [--report R.json]

--plan: the engine's own schedule (app.pipeline.schedule.video_plan), as the CLI runs it.
Otherwise --base/--every override the reduced-scale pass; the full-resolution passes of the
schedule stay (``anonymize.detection_plan``). The full-resolution passes run YuNet, as in the
CLI, unless --full-res-centerface (CenterFace there too). Prints the plan, frame and
detection counts, and timings as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.pipeline.anonymize import (VIDEO_DETECTOR_THREADS, anonymize_video,  # noqa: E402
                                    detection_plan, load_full_res_detector,
                                    video_detection_floor)
from app.pipeline.decode import probe_video  # noqa: E402
from app.pipeline.detect import CenterFace  # noqa: E402
from app.pipeline.types import AnonymizeOptions, DetectOptions, TrackOptions  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--plan", action="store_true", help="the engine's own schedule")
    parser.add_argument("--base", type=int, default=640)
    parser.add_argument("--every", type=int, default=3)
    parser.add_argument("--min-score", type=float, default=DetectOptions.min_score)
    parser.add_argument("--box-scale", type=float, default=TrackOptions.box_scale)
    parser.add_argument("--threads", type=int, default=VIDEO_DETECTOR_THREADS,
                        help="ONNX Runtime threads per CenterFace call (the CLI's by default)")
    parser.add_argument("--report", type=Path, help="write the engine's JSON report here")
    parser.add_argument("--no-turns", action="store_true",
                        help="no quarter-turn passes (people lying down): the schedule before them")
    parser.add_argument("--full-res-centerface", action="store_true",
                        help="CenterFace for the full-resolution passes too, instead of YuNet")
    args = parser.parse_args()
    turn_every = 0 if args.no_turns else None
    detect = (DetectOptions(min_score=args.min_score, turn_probe_every_n_frames=turn_every) if args.plan else
              DetectOptions(min_score=args.min_score, base_max_side_px=args.base,
                            detect_every_n_frames=args.every, turn_probe_every_n_frames=turn_every))
    options = AnonymizeOptions(detect=detect, track=TrackOptions(box_scale=args.box_scale))
    plan = detection_plan(probe_video(args.input), options)
    t0 = time.perf_counter()
    # The CLI's detection floor: weak faces count when seen again (app/pipeline/schedule.py).
    detector = CenterFace(min_score=video_detection_floor(options), threads=args.threads)
    full_res = detector if args.full_res_centerface else load_full_res_detector(options)
    report = anonymize_video(args.input, args.output, options, detector=detector,
                             full_res_detector=full_res)
    elapsed = time.perf_counter() - t0
    if args.report:
        args.report.write_text(json.dumps(report))
    print(json.dumps({"plan": plan.__dict__, "frames": report["frame_count"],
                      "detection_frames": report["detected_frames"],
                      "timing": report["timing"], "wall_s": round(elapsed, 2)}))


if __name__ == "__main__":
    main()
