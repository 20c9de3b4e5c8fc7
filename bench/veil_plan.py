"""Run Veil's engine on one video with the detection schedule of app.pipeline.schedule.

    .venv/bin/python bench/veil_plan.py INPUT OUTPUT [--base 640] [--every 3]
                     [--full-every 15] [--full-side 1920] [--plan]

Until the engine reads ``video_plan`` itself, this wraps the detector: the engine calls it on
every detection frame with its base scale, and on the frames the plan says, the wrapper also
runs the full-resolution pass (union of both, as ``detect_multiscale`` merges them). With
--plan the numbers come from ``video_plan(width, height, fps)``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.pipeline.anonymize import anonymize_video  # noqa: E402
from app.pipeline.decode import probe_video  # noqa: E402
from app.pipeline.detect import CenterFace, detect_multiscale  # noqa: E402
from app.pipeline.schedule import VideoDetectionPlan, video_plan  # noqa: E402
from app.pipeline.types import AnonymizeOptions, DetectOptions, TrackOptions  # noqa: E402


class ScheduledDetector:
    """Detector wrapper applying the plan's full-resolution passes (counts its calls)."""

    def __init__(self, detector: CenterFace, plan: VideoDetectionPlan) -> None:
        self.detector = detector
        self.plan = plan
        self.calls = 0
        self.full_calls = 0

    def detect(self, image_rgb, max_side_px):
        frame_index = self.calls * self.plan.detect_every_n_frames
        self.calls += 1
        sides = (self.plan.base_max_side_px,)
        if self.plan.full_res_every_n_frames and frame_index % self.plan.full_res_every_n_frames == 0:
            sides += (self.plan.full_res_max_side_px,)
            self.full_calls += 1
        return detect_multiscale(self.detector, image_rgb, sides)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--plan", action="store_true", help="use schedule.video_plan")
    parser.add_argument("--base", type=int, default=640)
    parser.add_argument("--every", type=int, default=3)
    parser.add_argument("--full-every", type=int, default=0)
    parser.add_argument("--full-side", type=int, default=1920)
    parser.add_argument("--min-score", type=float, default=DetectOptions.min_score)
    parser.add_argument("--box-scale", type=float, default=TrackOptions.box_scale)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    info = probe_video(args.input)
    if args.plan:
        plan = video_plan(info.width, info.height, float(info.average_rate or 25))
    else:
        plan = VideoDetectionPlan(min(args.base, max(info.width, info.height)), args.every,
                                  args.full_every, args.full_side)
    options = AnonymizeOptions(detect=DetectOptions(min_score=args.min_score,
                                                    base_max_side_px=plan.base_max_side_px,
                                                    detect_every_n_frames=plan.detect_every_n_frames),
                               track=TrackOptions(box_scale=args.box_scale))
    t0 = time.perf_counter()
    detector = ScheduledDetector(CenterFace(min_score=args.min_score, threads=args.threads), plan)
    report = anonymize_video(args.input, args.output, options, detector=detector)
    elapsed = time.perf_counter() - t0
    print(json.dumps({"plan": plan.__dict__, "frames": report["frame_count"],
                      "detections": detector.calls, "full_res_passes": detector.full_calls,
                      "timing": report["timing"], "wall_s": round(elapsed, 2)}))


if __name__ == "__main__":
    main()
