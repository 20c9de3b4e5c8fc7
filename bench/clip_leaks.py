"""Faces an independent detector finds in the eval clips, and which of them each tool left visible.

    .venv/bin/python bench/clip_leaks.py [--every 2] [--reuse] [--write] [--tag=-NAME -- VEIL_FLAGS]

The clips of ../shared/eval/clips have no ground truth. What can be measured honestly is
whether the faces a detector finds in the input are hidden in the output. The reference here is
RetinaFace (ResNet-50), which Veil runs on photos only: Veil's video path detects with
CenterFace and YuNet and never sees its boxes. It looks at every 2nd frame of each input at the
frame's own size (every 2nd frame meets every phase of Veil's detect-every-3rd-frame schedule),
and each face it is sure of (score >= 0.9, >= 20 px) is judged in the same frame of each
tool's output with the stills' criterion: fine-detail correlation >= 0.5 in the inner 80% of
the box is visible. Veil runs as a user runs it (`python -m app anonymize CLIP -o OUT -q`),
deface with its defaults; deface's output is judged only where it has the input's frames
(count and size). Face-frames left visible are cut out under bench/out/video/leaks/visible for
a look. The reference boxes are cached under bench/out/video/leaks/reference, so a run with
other Veil flags (`--tag=-min-score-0.25 -- --min-score 0.25`: its own outputs and section)
costs only Veil's runs and the judging.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from fractions import Fraction
from itertools import zip_longest
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from video import hidden_share  # noqa: E402
from common import (DEFACE_BIN, DEFACE_VENV, EVAL_DIR, MAX_HIDDEN_CORRELATION, OUT_DIR, ROOT,  # noqa: E402
                    VEIL_PY, command_line, face_visibility, fine_detail, machine_note, md_table,
                    ordinal, require_deface, run, write_section)

CLIPS_DIR = EVAL_DIR / "clips"
CLIP_SUFFIXES = {".mp4", ".h264", ".h265", ".gif", ".avi", ".mov", ".mkv", ".webm"}
RAW_STREAM_SUFFIXES = {".h264", ".h265"}
LEAKS_OUT = OUT_DIR / "video" / "leaks"
REFERENCE_MIN_SCORE = 0.9
REFERENCE_MIN_FACE_PX = 20
TOOLS = ("Veil", "deface 1.5.0 default")


def frames_rgb(path: Path):
    """Decoded frames in presentation order, RGB, as the decoder gives them (no rotation)."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="rgb24")


def make_outputs(clip: Path, stem: str, reuse: bool, tag: str = "",
                 veil_args: tuple[str, ...] = ()) -> dict[str, Path | None]:
    """Each tool's output of the clip (Veil's run report beside its output, .json); None where
    deface wrote none (it fails on a GIF)."""
    outputs = {"Veil": LEAKS_OUT / f"{stem}_veil{tag}.mp4", "deface 1.5.0 default": LEAKS_OUT / f"{stem}_deface.mp4"}
    for tool, dst in outputs.items():
        if reuse and dst.exists() and (tool != "Veil" or dst.with_suffix(".json").exists()):
            continue
        cmd = ([str(VEIL_PY), "-m", "app", "anonymize", str(clip), "-o", str(dst), "-q",
                "--report", str(dst.with_suffix(".json")), *veil_args] if tool == "Veil"
               else [str(DEFACE_BIN), str(deface_input(clip, stem)), "-o", str(dst)])
        try:
            run(cmd, dst.with_suffix(".log"))
        except RuntimeError:
            if tool == "Veil":
                raise
            dst.unlink(missing_ok=True)  # deface fails on some inputs (an animated GIF): no output
    return {tool: dst if dst.exists() else None for tool, dst in outputs.items()}


def deface_input(clip: Path, stem: str) -> Path:
    """The clip as deface can read it: deface skips files whose type it cannot tell from the
    name, so a raw .h264 / .h265 stream is first re-encoded into an MP4 without loss (x264
    qp 0: the decoded pixels, every frame PyAV decodes, at 25 fps, the MOT clips' rate)."""
    if clip.suffix.lower() not in RAW_STREAM_SUFFIXES:
        return clip
    dst = LEAKS_OUT / "lossless" / f"{stem}.mp4"
    if not dst.exists():
        dst.parent.mkdir(parents=True, exist_ok=True)
        with av.open(str(clip)) as src, av.open(str(dst), "w") as out:
            stream = None
            for index, frame in enumerate(src.decode(video=0)):
                if stream is None:
                    stream = out.add_stream("libx264", rate=25, options={"qp": "0", "preset": "ultrafast"})
                    stream.width, stream.height, stream.pix_fmt = frame.width, frame.height, "yuv420p"
                    stream.codec_context.time_base = Fraction(1, 25)
                frame = frame.reformat(format="yuv420p")
                frame.pts, frame.time_base = index, Fraction(1, 25)
                out.mux(stream.encode(frame))
            out.mux(stream.encode())
    return dst


def reference_faces(clip: Path, stem: str, detector, every: int, min_score: float = REFERENCE_MIN_SCORE,
                    min_face_px: float = REFERENCE_MIN_FACE_PX) -> dict[int, np.ndarray]:
    """{frame index: xyxy of the faces the reference detector scores >= min_score, at least
    min_face_px long}, every n-th frame, cached."""
    path = LEAKS_OUT / "reference" / f"{stem}_every{every}_score{min_score}_px{min_face_px:g}.npz"
    if path.exists():
        data = np.load(path)
        return {int(k): data[k] for k in data.files}
    faces_by_frame = {}
    for index, rgb in enumerate(frames_rgb(clip)):
        if index % every == 0:
            faces = detector.detect(rgb, max(rgb.shape[:2]))
            size_px = np.maximum(faces.xyxy[:, 2] - faces.xyxy[:, 0], faces.xyxy[:, 3] - faces.xyxy[:, 1])
            faces_by_frame[index] = faces.xyxy[(faces.score >= min_score) & (size_px >= min_face_px)]
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{str(k): v for k, v in faces_by_frame.items()})
    return faces_by_frame


def longest_run(flags: list[bool]) -> int:
    best = current = 0
    for flag in flags:
        current = current + 1 if flag else 0
        best = max(best, current)
    return best


def judge_clip(clip: Path, outputs: dict[str, Path | None], reference: dict[int, np.ndarray],
               every: int) -> dict:
    """Per tool: reference face-frames judged, visible, and the longest run of checked frames
    with a face left visible; ``comparable`` False for an output without the input's frames.
    An output of another frame size (deface's writer rounds sizes up to a multiple of 16 by
    scaling) is scaled back to the input's; the input scaled the same way and back is judged
    too, as a check that the criterion still sees an untouched face. One decode of each file."""
    tools = [tool for tool, path in outputs.items() if path is not None]
    comparable = {tool: tool in tools for tool in outputs}
    result = {"frames": 0, "checked": 0, "faces": 0, "resized": None, "check_visible": 0,
              "visible": {t: 0 for t in TOOLS}, "runs": {t: [] for t in TOOLS}}
    crops = {tool: [] for tool in tools}  # written once the tool's output proves comparable
    for index, (rgb_in, *outs) in enumerate(zip_longest(frames_rgb(clip), *(frames_rgb(outputs[t]) for t in tools))):
        for tool, out in zip(tools, outs):
            comparable[tool] &= (rgb_in is None) == (out is None)  # a frame more or less: not comparable
        if rgb_in is None:
            continue
        result["frames"] += 1
        if index % every:
            continue
        result["checked"] += 1
        xyxy = reference[index]
        d_in = fine_detail(cv2.cvtColor(rgb_in, cv2.COLOR_RGB2GRAY))
        h, w = rgb_in.shape[:2]

        def correlation(rgb):
            return face_visibility(d_in, fine_detail(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)), xyxy)

        judged = ~np.isnan(face_visibility(d_in, d_in, xyxy))
        result["faces"] += int(judged.sum())
        for tool, out in zip(tools, outs):
            if not comparable[tool]:
                continue
            if out.shape != rgb_in.shape:
                result["resized"], resized_tool = (out.shape[1], out.shape[0]), tool
                out = cv2.resize(out, (w, h), interpolation=cv2.INTER_AREA)
            corr = correlation(out)
            visible = judged & (corr >= MAX_HIDDEN_CORRELATION)
            result["visible"][tool] += int(visible.sum())
            result["runs"][tool].append(bool(visible.any()))
            crops[tool] += [crop_pair(index, rgb_in, out, xyxy[k], corr[k]) for k in np.flatnonzero(visible)]
        if result["resized"]:
            there_and_back = cv2.resize(cv2.resize(rgb_in, result["resized"], interpolation=cv2.INTER_LINEAR),
                                        (w, h), interpolation=cv2.INTER_AREA)
            result["check_visible"] += int((judged & (correlation(there_and_back) >= MAX_HIDDEN_CORRELATION)).sum())
    for tool in tools:
        if comparable[tool]:
            save_crops(outputs[tool].stem, crops[tool])
    if result["resized"] and not comparable[resized_tool]:
        result["resized"] = None  # the check belongs to an output that is not judged
    result["comparable"] = comparable
    return result


def crop_pair(index: int, rgb_in, rgb_out, box, corr: float) -> tuple[str, np.ndarray]:
    """(file name's end, input and output side by side) around a face left visible."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    pad = max(x2 - x1, y2 - y1) // 2
    h, w = rgb_in.shape[:2]
    ys, xs = slice(max(0, y1 - pad), min(h, y2 + pad)), slice(max(0, x1 - pad), min(w, x2 + pad))
    return f"{index:05d}_{x1}_{y1}_{corr:.2f}", np.hstack([rgb_in[ys, xs], rgb_out[ys, xs]])


def save_crops(output_stem: str, crops: list[tuple[str, np.ndarray]]) -> None:
    """The crops of one output under bench/out/video/leaks/visible, for a look."""
    folder = LEAKS_OUT / "visible"
    folder.mkdir(parents=True, exist_ok=True)
    for name, pair in crops:
        cv2.imwrite(str(folder / f"{output_stem}_{name}.png"), cv2.cvtColor(pair, cv2.COLOR_RGB2BGR))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=2, help="check every n-th frame (default 2)")
    parser.add_argument("--reuse", action="store_true", help="keep outputs already in bench/out/video/leaks")
    parser.add_argument("--match", default="", help="only clips whose path contains this")
    parser.add_argument("--write", action="store_true", help="write the section to bench/RESULTS.md")
    parser.add_argument("--tag", default="", help="suffix of Veil's outputs and of the RESULTS section")
    parser.add_argument("--ref-score", type=float, default=REFERENCE_MIN_SCORE,
                        help=f"reference faces: RetinaFace score at least this (default {REFERENCE_MIN_SCORE})")
    parser.add_argument("--ref-px", type=float, default=REFERENCE_MIN_FACE_PX,
                        help=f"reference faces: long side at least this many px (default {REFERENCE_MIN_FACE_PX})")
    parser.add_argument("veil_args", nargs="*", help="extra arguments for Veil's CLI (after --)")
    args = parser.parse_args()
    require_deface()
    from app.pipeline.retinaface import RetinaFace

    detector = RetinaFace(min_score=args.ref_score)
    reference_tag = ("" if (args.ref_score, args.ref_px) == (REFERENCE_MIN_SCORE, REFERENCE_MIN_FACE_PX)
                     else f"-reference-{args.ref_score:g}-{args.ref_px:g}px")
    LEAKS_OUT.mkdir(parents=True, exist_ok=True)
    clips = sorted(p for p in CLIPS_DIR.rglob("*") if p.suffix.lower() in CLIP_SUFFIXES and args.match in str(p))
    rows, hidden_total = [], 0.0
    totals = {t: [0, 0] for t in TOOLS}  # visible, judged: each tool over the clips it could be judged on
    for clip in clips:
        stem = f"{clip.parent.name}_{clip.stem}"
        outputs = make_outputs(clip, stem, args.reuse, args.tag, tuple(args.veil_args))
        r = judge_clip(clip, outputs, reference_faces(clip, stem, detector, args.every, args.ref_score, args.ref_px),
                       args.every)
        hidden_pct = 100 * hidden_share(json.loads(outputs["Veil"].with_suffix(".json").read_text()))
        hidden_total += hidden_pct * r["frames"]
        cells = []
        for tool in TOOLS:
            if r["comparable"][tool]:
                cells += [r["visible"][tool], longest_run(r["runs"][tool])]
                totals[tool][0] += r["visible"][tool]
                totals[tool][1] += r["faces"]
            else:
                cells += ["-", "-"]
        check = (f"{r['check_visible']} of {r['faces']} ({r['resized'][0]}x{r['resized'][1]})"
                 if r["resized"] else "-")
        rows.append([f"{clip.parent.name}/{clip.name}", r["frames"], r["checked"], r["faces"]] + cells + [check,
                     round(hidden_pct, 2)])
        print(rows[-1], flush=True)
    rows.append(["all", sum(r[1] for r in rows), sum(r[2] for r in rows), sum(r[3] for r in rows)]
                + [cell for t in TOOLS for cell in (f"{totals[t][0]} of {totals[t][1]}", "-")]
                + ["-", round(hidden_total / max(1, sum(r[1] for r in rows)), 2)])
    header = ["clip", "frames", "frames checked", "reference face-frames"] + [
        f"{t}: {what}" for t in TOOLS for what in ("visible", "longest run (checked frames)")] + [
        "check: the input scaled to deface's size and back, visible", "Veil: pixels hidden %"]
    body = (
        f"### Video: faces an independent detector finds in every eval clip, left visible{args.tag}"
        f"{f' (reference faces down to {args.ref_score:g} and {args.ref_px:g} px)' if reference_tag else ''}\n\n"
        f"`{command_line()}` ({machine_note()}; {'clips of ../shared/eval/clips whose path contains ' + repr(args.match) if args.match else 'every clip of ../shared/eval/clips'}). No ground truth "
        "comes with these clips: the reference is RetinaFace (ResNet-50, Veil's photo detector; "
        "Veil's video path runs CenterFace and YuNet and never sees its boxes) on every "
        f"{'' if args.every == 1 else ordinal(args.every) + ' '}"
        "frame of the input at the frame's own size, faces it scores >= "
        f"{args.ref_score:g} and >= {args.ref_px:g} px. Each is judged in the same frame "
        "of the output: visible when the fine-detail correlation in the inner 80% of its box is "
        f">= 0.5. Veil's CLI with {' '.join(args.veil_args) or 'its defaults'}, deface with its defaults ('-': it wrote no output, or "
        "one without the input's frames; deface fails on the GIF; it skips raw .h264 / .h265 "
        "streams by their name, so it is given them copied into an MP4, the same coded frames at 25 fps). deface's writer scales frames to a multiple of 16 px: its output "
        "is scaled back to the input's size before judging, and the check column judges the input "
        "scaled there and back, untouched, where every face should count as visible. A run counts "
        "checked frames in a row with a face left visible. Pixels hidden: the share of all the "
        "clip's pixels inside Veil's hidden boxes (its run report), the 'all' row weighted by frames.\n\n" + md_table(header, rows))
    print(body)
    if args.write:
        write_section("video-clip-leaks" + args.tag + reference_tag, body)


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
