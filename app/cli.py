"""Command-line interface over the same pipeline the web worker runs.

    python -m app anonymize INPUT [-o OUTPUT] [--style ...] [--shape ...] [--report R.json]
    python -m app serve
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from app.pipeline.decide import DEFAULT_MIN_SIMILARITY, Policy
from app.pipeline.errors import VeilError
from app.pipeline.people import IdentityOptions
from app.pipeline.schedule import (FAST_PHOTO_PLAN, STILL_MIN_SCORE, STILL_SMALL_FACE_EXTRA_SCALE,
                                   THOROUGH_PHOTO_PLAN, VIDEO_WEAK_SCORE_FACTOR,
                                   VIDEO_WEAK_TRACK_MIN_DETECTIONS)
from app.pipeline.progress import Progress
from app.pipeline.types import (AnonymizeOptions, DetectOptions, RedactOptions, RedactShape,
                                RedactStyle, TrackOptions)

EXIT_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one sentence and exit 2, like other input errors
        self.print_usage(sys.stderr)
        print(f"veil: {message}", file=sys.stderr)
        sys.exit(EXIT_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m app", description="Veil hides faces in videos and photos.")
    commands = parser.add_subparsers(dest="command", required=True)
    anon = commands.add_parser("anonymize", help="hide every face in a video, a photo or a folder of photos")
    anon.add_argument("input", type=Path, help="video file, photo (JPEG/PNG/WebP), or folder of photos")
    anon.add_argument("-o", "--output", type=Path,
                      help="output file (MP4 for videos, same format for photos) or folder; "
                           "default: INPUT-anonymized next to the input")
    anon.add_argument("--style", choices=[s.value for s in RedactStyle], default="mosaic",
                      help="how faces are hidden (default: mosaic)")
    anon.add_argument("--shape", choices=[s.value for s in RedactShape], default="ellipse",
                      help="shape of the hidden area (default: ellipse)")
    anon.add_argument("--min-score", type=float,
                      help="detection score threshold in 0..1; lower hides more (default: "
                           f"{DetectOptions.min_score} for videos, where faces found on "
                           f"{VIDEO_WEAK_TRACK_MIN_DETECTIONS} detection frames are kept down to "
                           f"{VIDEO_WEAK_SCORE_FACTOR * DetectOptions.min_score:.2g} "
                           f"({VIDEO_WEAK_SCORE_FACTOR * 100:.0f}%% of it); {STILL_MIN_SCORE} for photos, where "
                           f"faces {THOROUGH_PHOTO_PLAN.agreeing_passes + 1} passes agree on "
                           f"({FAST_PHOTO_PLAN.agreeing_passes + 1} with --fast) are kept down to "
                           "half of it)")
    anon.add_argument("--box-scale", type=float,
                      help="grow each face box by this factor (default: "
                           f"{TrackOptions.box_scale} for videos, {THOROUGH_PHOTO_PLAN.box_scale} for "
                           f"photos, {FAST_PHOTO_PLAN.box_scale} with --fast; photo faces under 64 px "
                           f"get up to {STILL_SMALL_FACE_EXTRA_SCALE} more, photo faces only the vote "
                           f"keeps {THOROUGH_PHOTO_PLAN.weak_margin_cut:g} less, down to 1.0, unless --fast)")
    plan = anon.add_mutually_exclusive_group()
    plan.add_argument("--thorough", action="store_true",
                      help="photos (the default): 17 detection passes of three networks, a face "
                           "hidden where 4 of them agree on it: the fewest faces missed")
    plan.add_argument("--fast", action="store_true",
                      help="photos: 6 detection passes of two networks instead, with narrower "
                           f"margins (box scale {FAST_PHOTO_PLAN.box_scale}): about 3 times faster "
                           "and less background hidden, but 4 times as many faces of 20 px and "
                           "more missed (bench/RESULTS.md)")
    who = anon.add_mutually_exclusive_group()
    who.add_argument("--only", type=Path, action="append", metavar="PHOTO",
                     help="hide only this person (a photo of one face); repeat for more photos "
                          "or more people. Faces Veil is unsure about are hidden too.")
    who.add_argument("--keep", type=Path, action="append", metavar="PHOTO",
                     help="hide everyone except this person (a photo of one face); repeatable")
    anon.add_argument("--min-similarity", type=float, default=DEFAULT_MIN_SIMILARITY,
                      help="identity threshold (cosine similarity of FaceNet embeddings; "
                           f"default {DEFAULT_MIN_SIMILARITY}, calibrated in bench/RESULTS.md)")
    anon.add_argument("--report", type=Path, help="write the JSON audit report here")
    anon.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    commands.add_parser("serve", help="start the web app (HOST and PORT environment variables)")
    return parser


class ProgressBar:
    """A one-line progress bar on a terminal: frames, fps and ETA."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream = stream
        self.stage = None

    def __call__(self, p: Progress) -> None:
        if p.stage != self.stage and self.stage is not None:
            self.stream.write("\n")
        self.stage = p.stage
        width = 30
        filled = int(width * min(p.frames_done / max(p.frames_total, 1), 1.0))
        eta = f"{p.eta_s:5.0f}s" if p.eta_s is not None else "    ?"
        unit = "photos" if p.stage == "images" else "frames"
        self.stream.write(f"\r{p.stage:>10} [{'#' * filled}{'.' * (width - filled)}] "
                          f"{p.frames_done}/{p.frames_total} {unit} {p.fps:6.1f}/s ETA {eta}")
        self.stream.flush()

    def close(self) -> None:
        if self.stage is not None:
            self.stream.write("\n")


def run_anonymize(args: argparse.Namespace) -> int:
    from app.pipeline.anonymize import FAST_PHOTO_OPTIONS, PHOTO_OPTIONS, anonymize_path, is_photo_input

    photos_in = is_photo_input(args.input)
    if (args.thorough or args.fast) and not photos_in:
        print(f"veil: --{'fast' if args.fast else 'thorough'} is for photos and folders of "
              "photos; videos are searched on every frame's schedule already.", file=sys.stderr)
        return EXIT_INPUT
    defaults = (FAST_PHOTO_OPTIONS if args.fast else PHOTO_OPTIONS) if photos_in else AnonymizeOptions()
    try:
        options = AnonymizeOptions(
            detect=DetectOptions(min_score=defaults.detect.min_score if args.min_score is None
                                 else args.min_score, thorough=defaults.detect.thorough),
            track=TrackOptions(box_scale=defaults.track.box_scale if args.box_scale is None
                               else args.box_scale),
            redact=RedactOptions(style=args.style, shape=args.shape),
        )
        photos = args.only or args.keep or []
        identity = IdentityOptions(
            policy=Policy.ONLY if args.only else Policy.KEEP if args.keep else Policy.ALL,
            reference_paths=tuple(photos), min_similarity=args.min_similarity)
    except ValueError as error:
        print(f"veil: {error}.", file=sys.stderr)
        return EXIT_INPUT
    bar = ProgressBar() if sys.stderr.isatty() and not args.quiet else None
    try:
        if args.report is not None and args.report.is_dir():
            raise VeilError(f"The report path {str(args.report)!r} is a folder; give a file name.")
        report = anonymize_path(args.input, args.output, options, identity, progress=bar)
        if args.report is not None:
            args.report.parent.mkdir(parents=True, exist_ok=True)
            args.report.write_text(json.dumps(report, indent=1))
    except VeilError as error:
        if bar:
            bar.close()
        print(f"veil: {error}", file=sys.stderr)
        return EXIT_INPUT
    except OSError as error:
        if bar:
            bar.close()
        print(f"veil: cannot write {error.filename or 'the output'}: {error.strerror}.", file=sys.stderr)
        return EXIT_INPUT
    if bar:
        bar.close()
    out = report["output"]
    print(out["path"] if isinstance(out, dict) else out)
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    if args.command == "anonymize":
        return run_anonymize(args)
    from app.serve import main as serve_main

    return serve_main([])
