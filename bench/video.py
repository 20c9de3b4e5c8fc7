"""Video benchmarks.

    .venv/bin/python bench/video.py youtube [--plans] [--turn 90] [--small 20] [--tilt 45]  # YouTube Faces: face-frames left visible
    .venv/bin/python bench/video.py speed [--repeats 3] [--fps 25] # 720p / 1080p: floor, Veil, deface
    .venv/bin/python bench/video.py speed-all [--repeats 3]  # Veil's CLI and deface on every clip >= 800 px
    .venv/bin/python bench/video.py turn-cost           # quarter-turn passes on upright clips
    .venv/bin/python bench/video.py full-res            # full-resolution pass: YuNet vs CenterFace

youtube: each sequence's JPEG frames become an H.264 clip (PyAV, libx264 crf 18, 25 fps) in
bench/out/video/clips; Veil's CLI and deface (default settings) process the same clip; every
ground-truth face-frame is judged on the decoded output against the decoded input clip with
the stills criterion (fine-detail correlation >= 0.5 inside the inner 80% of the box = visible).
Veil runs as its engine with its own schedule (bench/veil_plan.py --plan); --cli adds the
CLI with its own defaults; --plans sweeps other schedules (scale, every n-th frame).

speed: wall time of whole commands on the same clip in the same run, interleaved, median of
--repeats: decode+encode only (the floor: PyAV decode -> Veil's own writer and x264 settings,
audio copied), Veil's engine with schedule.video_plan (bench/veil_plan.py --plan; --cli adds the CLI), deface default, deface --scale 640x360 (both with --keep-audio). The 1080p clip is made
here from a 720p clip with audio (Lanczos upscale, crf 18, audio copied) because
../shared/eval has no 1080p landscape clip with audio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import sys
from collections import defaultdict
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.pipeline.boxes import rotate_boxes_to_original  # noqa: E402
from common import (CLIP_720P, DEFACE_BIN, EVAL_DIR, OUT_DIR, VEIL_PY, YTF_DIR, command_line,  # noqa: E402
                    face_visibility, fine_detail, machine_note, md_table, require_deface, run,
                    textured_blocks_lost, write_section)

VIDEO_OUT = OUT_DIR / "video"
YTF_FPS = 25


# ---------------------------------------------------------------- helpers
def decode_gray(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray") for f in container.decode(video=0)]


# --small: each frame shrunk and placed on a grey canvas of this size, drifting right by
# SMALL_DRIFT_PX per frame: small, moving faces in a frame larger than the base pass.
SMALL_CANVAS_WH = (1280, 720)
SMALL_DRIFT_PX = 2


def small_offset(index: int, frame_wh: tuple[int, int]) -> tuple[int, int]:
    """Top-left corner of the shrunk frame on the canvas at frame ``index``."""
    w, h = frame_wh
    cw, ch = SMALL_CANVAS_WH
    return min(100 + SMALL_DRIFT_PX * index, cw - w), (ch - h) // 2


def shrunk_size(image_wh: tuple[int, int], factor: float) -> tuple[int, int]:
    return max(2, round(image_wh[0] * factor)), max(2, round(image_wh[1] * factor))


def tilt_matrix(image_wh: tuple[int, int], tilt_deg: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The affine map that turns an image of image_wh by tilt_deg counter-clockwise about its
    centre onto a canvas that holds all of it (sides a multiple of 16), and that canvas's size."""
    w, h = image_wh
    c, s = abs(np.cos(np.radians(tilt_deg))), abs(np.sin(np.radians(tilt_deg)))
    # Sides a multiple of 16: deface's writer (imageio-ffmpeg) would scale other sizes up to one.
    w2, h2 = (-(-int(np.ceil(side)) // 16) * 16 for side in (w * c + h * s, w * s + h * c))
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), tilt_deg, 1.0)
    matrix[:, 2] += (w2 / 2 - w / 2, h2 / 2 - h / 2)
    return matrix, (w2, h2)


def tilt_box(xyxy: np.ndarray | None, tilt_deg: float, image_wh: tuple[int, int]) -> np.ndarray | None:
    """The ground-truth face box on the tilted frame, judged conservatively: the largest upright
    square inside the tilted face square (same centre, side / (|cos| + |sin|)), so the judged
    patch is face, not the background a tilted box's corners take in."""
    if xyxy is None:
        return None
    matrix, _ = tilt_matrix(image_wh, tilt_deg)
    centre = matrix @ np.array([(xyxy[0] + xyxy[2]) / 2, (xyxy[1] + xyxy[3]) / 2, 1.0])
    c, s = abs(np.cos(np.radians(tilt_deg))), abs(np.sin(np.radians(tilt_deg)))
    half = max(xyxy[2] - xyxy[0], xyxy[3] - xyxy[1]) / (c + s) / 2
    return np.array([centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half], np.float32)


def frames_to_clip(jpegs: list[Path], out: Path, fps: int = YTF_FPS, turns: int = 0,
                   small_factor: float = 0.0, tilt_deg: float = 0.0) -> None:
    """The JPEG frames as an H.264 clip, each turned counter-clockwise by ``turns`` quarters,
    or shrunk by ``small_factor`` onto a drifting position of a SMALL_CANVAS_WH canvas, or
    tilted by ``tilt_deg`` (counter-clockwise) on a grey canvas that holds the whole frame."""
    first = np.rot90(cv2.imread(str(jpegs[0])), turns)
    h, w = first.shape[:2]
    h2, w2 = (SMALL_CANVAS_WH[1], SMALL_CANVAS_WH[0]) if small_factor else (h - h % 2, w - w % 2)
    if tilt_deg:
        matrix, (w2, h2) = tilt_matrix((w, h), tilt_deg)
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w2, h2, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        for index, path in enumerate(jpegs):
            rgb = np.rot90(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), turns)[:h2, :w2]
            if tilt_deg:
                rgb = cv2.warpAffine(rgb, matrix, (w2, h2), flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_CONSTANT, borderValue=(110, 110, 110))
            elif small_factor:
                size = shrunk_size((w, h), small_factor)
                x, y = small_offset(index, size)
                canvas = np.full((h2, w2, 3), 110, np.uint8)
                canvas[y:y + size[1], x:x + size[0]] = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
                rgb = canvas
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def turn_box(xyxy: np.ndarray | None, turns: int, image_wh: tuple[int, int]) -> np.ndarray | None:
    """A box on an image of image_wh, on that image turned like np.rot90(image, turns): the
    image is the turned one turned back by 4 - turns quarters."""
    if xyxy is None or turns % 4 == 0:
        return xyxy
    return rotate_boxes_to_original(xyxy[None], 4 - turns % 4, image_wh)[0]


def load_ytf(root: Path = YTF_DIR) -> dict[str, list[tuple[Path, np.ndarray | None]]]:
    """YouTube Faces sequences from the dataset's own label files under root
    (``*.labeled_faces.txt``, rows ``Person\\N\\N.frame.jpg,0,cx,cy,w,h,...``: the box's centre
    and size), frames in file order. A row's path is relative to root or to the folder of its
    label file (or the one above it)."""
    seqs: dict[str, list] = defaultdict(list)
    seen: set[Path] = set()  # a frame labelled in two files (a copy of a label file) counts once
    for labels in sorted(root.rglob("*.labeled_faces.txt")):
        for line in labels.read_text().splitlines():
            if not line.strip():
                continue
            fields = line.split(",")
            rel = Path(*fields[0].strip().replace("\\", "/").split("/"))
            cx, cy, w, h = (float(v) for v in fields[2:6])
            path = next((base / rel for base in (root, labels.parent, labels.parent.parent)
                         if (base / rel).exists()), None)
            if path is None:
                raise SystemExit(f"{labels}: no frame {rel} under {root}")
            if path in seen:
                continue
            seen.add(path)
            seqs[rel.parts[0] + rel.parts[1]].append(
                (path, np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], np.float32)))
    if not seqs:
        raise SystemExit(f"{root} has no YouTube Faces label files (*.labeled_faces.txt)")
    return dict(seqs)


def judge_clip(src_gray: list[np.ndarray], out_path: Path, boxes: list[np.ndarray | None]) -> dict:
    out_gray = decode_gray(out_path)
    if len(out_gray) != len(src_gray):
        raise RuntimeError(f"{out_path.name}: {len(out_gray)} frames out, {len(src_gray)} in")
    visible, run_len, longest, face_frames = 0, 0, 0, 0
    textured = lost = 0
    for g_in, g_out, box in zip(src_gray, out_gray, boxes):
        d_in, d_out = fine_detail(g_in), fine_detail(g_out)
        if box is None:
            run_len = 0
            continue
        face_frames += 1
        c = face_visibility(d_in, d_out, box[None])[0]
        is_visible = bool(c >= 0.5)
        visible += is_visible
        run_len = run_len + 1 if is_visible else 0
        longest = max(longest, run_len)
        t, lo = textured_blocks_lost(d_in, d_out, box[None])
        textured += t
        lost += lo
    return {"face_frames": face_frames, "visible": visible, "longest": longest,
            "textured": textured, "lost": lost}


# ---------------------------------------------------------------- YouTube Faces
def plan_runner(*plan_args: str):
    """Veil's engine with a detection schedule (bench/veil_plan.py: --plan = schedule.video_plan)."""
    def produce(src: Path, dst: Path) -> None:
        run([str(VEIL_PY), "bench/veil_plan.py", str(src), str(dst), *plan_args], dst.with_suffix(".log"))
    return produce


def small_factor_for(frames: list[tuple[Path, np.ndarray | None]], face_px: int) -> float:
    """The shrink factor that makes the sequence's median face ``face_px`` px (longer side)."""
    boxes = np.array([b for _, b in frames if b is not None])
    return face_px / float(np.median(np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])))


def cmd_youtube(args) -> None:
    require_deface()
    turns = args.turn // 90
    turned = ((f"-turned{args.turn}" if turns else f"-tilted{args.tilt}" if args.tilt else "")
              + (f"-small{args.small}" if args.small else ""))
    clips_dir = VIDEO_OUT / f"clips{turned}"
    clips_dir.mkdir(parents=True, exist_ok=True)
    seqs = load_ytf()
    tools: dict[str, callable] = {
        "check: untouched re-encode": lambda src, dst: reencode(src, dst),
        "deface 1.5.0 default": lambda src, dst: run([str(DEFACE_BIN), str(src), "-o", str(dst)],
                                                      dst.with_suffix(".log")),
        "Veil (engine, own schedule)": plan_runner("--plan"),
        "Veil (engine, own schedule, no quarter-turn passes)": plan_runner("--plan", "--no-turns"),
    }
    if args.small and not turns:
        del tools["Veil (engine, own schedule, no quarter-turn passes)"]
        tools["Veil (engine, CenterFace instead of YuNet at full resolution)"] = plan_runner(
            "--plan", "--full-res-centerface")
    if args.cli:
        tools["Veil CLI"] = lambda src, dst: run([str(VEIL_PY), "-m", "app", "anonymize", str(src),
                                                  "-o", str(dst), "-q"], dst.with_suffix(".log"))
    if args.plans and not turned:
        for side, n in ((640, 3), (640, 5), (640, 8), (320, 3), (320, 5)):
            tools[f"Veil engine: base {side} px, every {n}"] = plan_runner("--base", str(side), "--every", str(n))
    results: dict[str, dict[str, dict]] = defaultdict(dict)
    for name, frames in seqs.items():
        clip = clips_dir / f"{name}.mp4"
        factor = small_factor_for(frames, args.small) if args.small else 0.0
        if not clip.exists():
            frames_to_clip([p for p, _ in frames], clip, turns=turns, small_factor=factor, tilt_deg=args.tilt)
        src_gray = decode_gray(clip)
        h, w = cv2.imread(str(frames[0][0])).shape[:2]
        boxes = [turn_box(b, turns, (w, h)) for _, b in frames]
        if args.tilt:
            boxes = [tilt_box(b, args.tilt, (w, h)) for b in boxes]
        if factor:
            size = shrunk_size((h, w) if turns % 2 else (w, h), factor)
            boxes = [None if b is None else b * factor + np.tile(small_offset(i, size), 2).astype(np.float32)
                     for i, b in enumerate(boxes)]
        for tool, produce in tools.items():
            slug = "".join(ch if ch.isalnum() else "_" for ch in tool)
            dst = VIDEO_OUT / f"{slug}{turned}" / f"{name}.mp4"
            dst.parent.mkdir(parents=True, exist_ok=True)
            if not (args.reuse and not tool.startswith("Veil") and dst.exists()):
                produce(clip, dst)
            results[tool][name] = judge_clip(src_gray, dst, boxes)
            print(tool, name, results[tool][name], flush=True)
    header = ["output"] + [f"{n} visible / longest run" for n in seqs] + [
        "total visible face-frames", "over-redaction %"]
    rows = []
    for tool, per_seq in results.items():
        total_vis = sum(r["visible"] for r in per_seq.values())
        total_ff = sum(r["face_frames"] for r in per_seq.values())
        lost = sum(r["lost"] for r in per_seq.values())
        textured = sum(r["textured"] for r in per_seq.values())
        rows.append([tool] + [f"{r['visible']} / {r['longest']}" for r in per_seq.values()]
                    + [f"{total_vis} of {total_ff}", round(100 * lost / max(textured, 1), 2)])
    title = ((f", every frame turned {args.turn} degrees counter-clockwise" if turns else
              f", every frame tilted {args.tilt} degrees counter-clockwise" if args.tilt else "")
             + (f"{' and' if turns else ','} shrunk to {args.small}-px faces drifting on a 1280x720 canvas"
                if args.small else ""))
    body = (f"### Video: YouTube Faces, face-frames left visible{title}\n\n`{command_line()}` ({machine_note()}). "
            f"Clips: the sequences' JPEG frames{', turned,' if turns else ''} encoded to H.264 (crf 18, 25 fps) "
            f"in bench/out/video/clips{turned}. "
            + (f"Each frame is tilted {args.tilt} degrees about its centre on a grey canvas that holds "
               "all of it; a face is judged on the largest upright square inside its tilted "
               "ground-truth square (face only, no background corners). "
               if args.tilt else "")
            + (f"Each frame is shrunk so the sequence's median face is {args.small} px and placed on a grey "
               f"1280x720 canvas, moving right {SMALL_DRIFT_PX} px per frame: faces the 640-px base pass "
               "hardly sees, left to the full-resolution passes and the tracks between them. "
               if args.small else "")
            + "Per sequence: visible face-frames / longest run of consecutive visible frames. "
            "Over-redaction: textured 16x16 blocks outside the GT face (grown 1.6x) that lost their detail.\n\n"
            + md_table(header, rows))
    write_section("video-youtube" + ("-plans" if args.plans and not turned else "") + turned,
                  body)


def reencode(src: Path, dst: Path) -> float:
    return decode_encode_floor(src, dst)


# ---------------------------------------------------------------- speed
def rewrite_video(src: Path, dst: Path, info, write) -> int:
    """Decode src and hand each frame to ``write(writer, frame, index)``, writing through Veil's
    own writer (app.pipeline.encode) for ``info``, audio packets copied. Returns frames."""
    from app.pipeline.decode import main_video_stream
    from app.pipeline.encode import VideoWriter

    frames = 0
    with av.open(str(src)) as inp, VideoWriter(info, dst, inp) as writer:
        video = main_video_stream(inp)
        video.thread_type = "AUTO"
        for packet in inp.demux(video, *inp.streams.audio):
            if packet.stream.type == "audio":
                writer.copy_packet(packet)
                continue
            for frame in packet.decode():
                write(writer, frame, frames)
                frames += 1
    return frames


def decode_encode_floor(src: Path, dst: Path) -> int:
    """The floor any pipeline sits on: decode every frame and encode it with Veil's own writer
    (app.pipeline.encode: libx264, same settings, audio packets copied), no detection and no
    redaction. Returns frames written."""
    from app.pipeline.decode import probe_video

    return rewrite_video(src, dst, probe_video(src), lambda writer, frame, _: writer.write_frame(frame, frame.pts))


def make_1080p(src: Path, dst: Path) -> None:
    """src scaled to 1920x1080 (Lanczos), written by Veil's own writer (same timestamps, audio
    packets copied), for the 1080p speed runs."""
    from dataclasses import replace

    from app.pipeline.decode import FrameClock, probe_video, to_display_rgb

    src_info = probe_video(src)
    clock = FrameClock(src_info)

    def write(writer, frame, _):
        rgb = to_display_rgb(frame, src_info.rotation_deg)
        writer.write(cv2.resize(rgb, (1920, 1080), interpolation=cv2.INTER_LANCZOS4), clock.pts_of(frame))

    rewrite_video(src, dst, replace(src_info, width=1920, height=1080, rotation_deg=0), write)


def retime(src: Path, dst: Path, fps: int) -> None:
    """src's frames, unchanged, played at fps (new timestamps, one frame every 1/fps s), written
    by Veil's own writer, audio packets copied (they then end before or after the picture)."""
    from dataclasses import replace
    from fractions import Fraction

    from app.pipeline.decode import probe_video

    info = replace(probe_video(src), time_base=Fraction(1, fps), average_rate=Fraction(fps))
    rewrite_video(src, dst, info, lambda writer, frame, index: writer.write_frame(frame, index))


def count_frames(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def cmd_speed(args) -> None:
    require_deface()
    speed_dir = VIDEO_OUT / "speed"
    speed_dir.mkdir(parents=True, exist_ok=True)
    clip720 = args.clip or CLIP_720P
    if args.fps:
        retimed = speed_dir / f"{clip720.stem}_{args.fps}fps.mp4"
        if not retimed.exists():
            retime(clip720, retimed, args.fps)
        clip720 = retimed
    clip1080 = speed_dir / f"{clip720.stem}_1080p.mp4"
    if not clip1080.exists():
        make_1080p(clip720, clip1080)
    clips = {"720p": clip720, "1080p": clip1080}
    if args.only:
        clips = {k: v for k, v in clips.items() if k in args.only}
    for label, clip in clips.items():
        n = count_frames(clip)
        commands = {
            "decode+encode only (floor)": lambda dst: decode_encode_floor(clip, dst),
            "Veil (engine, own schedule)": lambda dst: run([str(VEIL_PY), "bench/veil_plan.py", str(clip), str(dst),
                                                           "--plan", *args.veil_args], dst.with_suffix(".log")),
            "Veil (engine, no quarter-turn passes)": lambda dst: run(
                [str(VEIL_PY), "bench/veil_plan.py", str(clip), str(dst), "--plan", "--no-turns", *args.veil_args],
                dst.with_suffix(".log")),
            "Veil (engine, CenterFace instead of YuNet at full resolution)": lambda dst: run(
                [str(VEIL_PY), "bench/veil_plan.py", str(clip), str(dst), "--plan", "--full-res-centerface",
                 *args.veil_args], dst.with_suffix(".log")),
            "deface default": lambda dst: run([str(DEFACE_BIN), str(clip), "-o", str(dst), "--keep-audio"],
                                              dst.with_suffix(".log")),
            "deface --scale 640x360": lambda dst: run([str(DEFACE_BIN), str(clip), "-o", str(dst), "--keep-audio",
                                                       "--scale", "640x360"], dst.with_suffix(".log")),
        }
        if args.cli:
            commands["Veil CLI"] = lambda dst: run([str(VEIL_PY), "-m", "app", "anonymize", str(clip), "-o", str(dst),
                                                    "-q"], dst.with_suffix(".log"))
        if args.skip_deface:
            commands = {k: v for k, v in commands.items() if not k.startswith("deface")}
        times = defaultdict(list)

        for rep in range(args.repeats):
            for name, fn in commands.items():
                dst = speed_dir / f"{label}_{''.join(c if c.isalnum() else '_' for c in name)}.mp4"
                t0 = time.perf_counter()
                fn(dst)
                times[name].append(time.perf_counter() - t0)
                print(label, name, f"{times[name][-1]:.1f} s", flush=True)
        med = {k: statistics.median(v) for k, v in times.items()}
        rows = []
        for name in commands:
            rows.append([name, round(med[name], 1), round(n / med[name], 1),
                         round(med.get("deface default", float("nan")) / med[name], 2),
                         " / ".join(f"{t:.1f}" for t in times[name])])
        rate = f", {args.fps} fps: {args.clip.name if args.clip else CLIP_720P.name}'s frames retimed" if args.fps else ""
        section = f"**{label}**: `{clip.name}` ({n} frames{rate}, with AAC audio)\n\n" + md_table(
            ["command", "wall s (median)", "fps", "x deface default", "runs (s)"], rows)
        veil_args = " ".join(args.veil_args)
        body = (f"### Speed {label}: end to end, same clip, same run\n\n`{command_line()}` ({machine_note()}; "
                f"{args.repeats} interleaved runs, median; Veil = `.venv/bin/python bench/veil_plan.py CLIP OUT --plan {veil_args}` "
                "(the engine with its own schedule), whole process including model load; deface with "
                f"--keep-audio; the 1080p clip is {clip720.name} upscaled (Lanczos) with its audio copied)\n\n" + section)
        write_section(f"speed-{label}{args.tag}", body)


SPEED_ALL_MIN_LONG_SIDE_PX = 800


def cmd_speed_all(args) -> None:
    """Veil's CLI and deface default on every clip of ../shared/eval/clips whose long side is
    at least SPEED_ALL_MIN_LONG_SIDE_PX: per clip, Veil, deface, then Veil again --repeats - 1
    times (the same load for both), Veil's median."""
    require_deface()
    out_dir = VIDEO_OUT / "speed-all"
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for clip in sorted((EVAL_DIR / "clips").rglob("*.mp4")):
        with av.open(str(clip)) as c:
            stream = c.streams.video[0]
            width, height, rate = stream.width, stream.height, float(stream.average_rate)
            has_audio = bool(c.streams.audio)
        if max(width, height) < SPEED_ALL_MIN_LONG_SIDE_PX:
            continue
        n = count_frames(clip)
        name = f"{clip.parent.name}/{clip.name}"
        veil_dst = out_dir / f"{clip.parent.name}_{clip.stem}_veil.mp4"
        deface_dst = out_dir / f"{clip.parent.name}_{clip.stem}_deface.mp4"

        def veil() -> float:
            t0 = time.perf_counter()
            run([str(VEIL_PY), "-m", "app", "anonymize", str(clip), "-o", str(veil_dst), "-q"],
                veil_dst.with_suffix(".log"))
            return time.perf_counter() - t0
        veil_s = [veil()]
        t0 = time.perf_counter()
        run([str(DEFACE_BIN), str(clip), "-o", str(deface_dst)] + (["--keep-audio"] if has_audio else []),
            deface_dst.with_suffix(".log"))
        deface_s = time.perf_counter() - t0
        veil_s += [veil() for _ in range(args.repeats - 1)]
        med = statistics.median(veil_s)
        print(name, f"Veil {' / '.join(f'{t:.1f}' for t in veil_s)} s, deface {deface_s:.1f} s", flush=True)
        rows.append([name, f"{width}x{height}", round(rate, 2), n, "yes" if has_audio else "no",
                     round(n / deface_s, 1), round(n / med, 1), round(deface_s / med, 2),
                     round(n / med / rate, 2), " / ".join(f"{t:.1f}" for t in veil_s)])
    body = (f"### Speed on every clip of ../shared/eval/clips at least {SPEED_ALL_MIN_LONG_SIDE_PX} px long\n\n"
            f"`{command_line()}` ({machine_note()}; per clip: Veil's CLI (`python -m app anonymize CLIP -o OUT -q`, "
            f"whole process), deface default (--keep-audio where the clip has audio), then Veil again: "
            f"{args.repeats} Veil runs, median; deface once)\n\n"
            + md_table(["clip", "size", "clip fps", "frames", "audio", "deface fps", "Veil fps", "x deface",
                        "x real time", "Veil runs (s)"], rows))
    write_section("speed-all-clips", body)
    print(body)


# ---------------------------------------------------------------- quarter-turn passes on upright footage
TURN_COST_CLIPS = ("multi_person/2person.mp4", "multi_person/dance.mp4", "multi_person/obama_short.mp4",
                   "crowds/MOT20-05-raw_even_shorter.mp4", "crowds/MOT20-08-raw_shorter.h264",
                   "single_face/wider_repo_test.mp4", "seed/test_video_4.mp4",
                   "talking_heads_liveportrait/d0.mp4", "talking_heads_retalking/3.mp4")


def hidden_share(report: dict) -> float:
    """Share of all frame pixels inside a hidden box (boxes of one frame counted once)."""
    w, h = report["video"]["width"], report["video"]["height"]
    per_frame = defaultdict(list)
    for track in report["tracks"]:
        if track["decision"] == "blur":
            for frame, x1, y1, x2, y2, *_ in track["boxes"]:
                per_frame[frame].append((x1, y1, x2, y2))
    covered = 0
    for boxes in per_frame.values():
        mask = np.zeros((h, w), bool)
        for x1, y1, x2, y2 in boxes:
            mask[max(int(y1), 0):max(int(np.ceil(y2)), 0), max(int(x1), 0):max(int(np.ceil(x2)), 0)] = True
        covered += int(mask.sum())
    return covered / (w * h * report["frame_count"])


def compare_on_clips(out_dir: Path, clips, before: tuple[str, list[str]],
                     after: tuple[str, list[str]]) -> list[list]:
    """Each clip through Veil's engine (bench/veil_plan.py --plan) with two sets of extra
    arguments: rows of size, frames, tracks, hidden area % and analyse s, before then after."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    totals = defaultdict(float)
    for rel in clips:
        clip = EVAL_DIR / "clips" / rel
        if not clip.exists():
            continue
        result = {}
        for variant, extra in (before, after):
            stem = out_dir / f"{clip.stem}-{variant.replace(' ', '-')}"
            log = stem.with_suffix(".log")
            run([str(VEIL_PY), "bench/veil_plan.py", str(clip), str(stem.with_suffix(".mp4")), "--plan",
                 "--report", str(stem.with_suffix(".json")), *extra], log)
            report = json.loads(stem.with_suffix(".json").read_text())
            timing = json.loads(log.read_text().strip().splitlines()[-1])
            result[variant] = (report, timing)
        (old_r, old_t), (new_r, new_t) = result[before[0]], result[after[0]]
        frames = new_r["frame_count"]
        totals["frames"] += frames
        totals["old"] += old_t["timing"]["analyse_s"]
        totals["new"] += new_t["timing"]["analyse_s"]
        rows.append([rel, f"{new_r['video']['width']}x{new_r['video']['height']}", frames,
                     len(old_r["tracks"]), len(new_r["tracks"]),
                     round(100 * hidden_share(old_r), 3), round(100 * hidden_share(new_r), 3),
                     round(old_t["timing"]["analyse_s"], 2), round(new_t["timing"]["analyse_s"], 2)])
        print(rows[-1], flush=True)
    rows.append(["all", "", int(totals["frames"]), "", "", "", "",
                 round(totals["old"], 1), round(totals["new"], 1)])
    return rows


def cmd_turn_cost(args) -> None:
    """What the quarter-turn passes cost on upright footage, where nobody lies down: detector
    time, and area hidden only because a turned pass found something (false detections, or
    faces tilted far enough that only a turned pass sees them)."""
    rows = compare_on_clips(VIDEO_OUT / "turn-cost", TURN_COST_CLIPS, ("no turns", ["--no-turns"]),
                            ("turns", []))
    body = (f"### Video: quarter-turn passes on upright footage\n\n`{command_line()}` ({machine_note()}). "
            "Each clip through Veil's engine with its own schedule (`bench/veil_plan.py --plan`), without and "
            "with the quarter-turn passes (`--no-turns`). Nobody lies down in these clips: tracks and hidden "
            "area the turned passes add are false detections or faces tilted far enough that only a turned "
            "pass sees them. Hidden area: share of all frame pixels inside a hidden box. Analyse s: the "
            "analysis pass (decode + detect + track), one run each on a shared machine.\n\n"
            + md_table(["clip", "size", "frames", "tracks (no turns)", "tracks (turns)",
                        "hidden area % (no turns)", "hidden area % (turns)", "analyse s (no turns)",
                        "analyse s (turns)"], rows))
    write_section("video-turn-cost", body)


# ---------------------------------------------------------------- the full-resolution pass
# Clips larger than the base pass (640 px), where the full-resolution pass runs.
FULL_RES_CLIPS = ("multi_person/2person.mp4", "multi_person/obama_short.mp4",
                  "crowds/MOT20-05-raw_even_shorter.mp4", "crowds/MOT20-08-raw_shorter.h264",
                  "single_face/wider_repo_test.mp4", "seed/test_video_4.mp4")
# WIDER val photos taken as frames: the photo is the full-resolution frame, the base pass sees
# it scaled as a 720p frame's 640 px pass does (1/2) and as a 1080p frame's (1/3).
FULL_RES_GEOMETRIES = (("720p", 1 / 2), ("1080p", 1 / 3))


def full_res_wider() -> tuple[list[list], list[list], dict]:
    """Detector recall / false detections, and the rendered verdicts, of the base pass plus a
    full-resolution pass by CenterFace or YuNet, on WIDER val photos taken as frames."""
    from app.pipeline.boxes import long_side_px, scale_boxes
    from app.pipeline.detect import CenterFace, merge_union
    from app.pipeline.redact import redact_frame
    from app.pipeline.schedule import VIDEO_FULL_RES_MAX_BASE_FACE_PX
    from app.pipeline.track import WEAK_DETECTION_EXTRA_SCALE, WEAK_DETECTION_SCORE
    from app.pipeline.types import DetectOptions, FaceBoxes, RedactOptions, TrackOptions
    from app.pipeline.yunet import YuNet
    from common import SIZE_BUCKETS_PX, WIDER_DIR, load_wider, match_detections
    from stills import judge, visibility_cells

    min_score = DetectOptions.min_score
    cap = VIDEO_FULL_RES_MAX_BASE_FACE_PX
    centerface, yunet = CenterFace(min_score=min_score), YuNet(min_score=min_score)
    images = load_wider()
    dets: dict[str, dict[str, FaceBoxes]] = defaultdict(dict)
    seconds = defaultdict(float)
    for image in images:
        rgb = cv2.cvtColor(cv2.imread(str(WIDER_DIR / "images" / image.rel_path)), cv2.COLOR_BGR2RGB)
        long_side = max(rgb.shape[:2])
        for name, fn in [(f"base {g}", lambda f=f: centerface.detect(rgb, round(long_side * f)))
                         for g, f in FULL_RES_GEOMETRIES] + [
                ("CenterFace", lambda: centerface.run(rgb)), ("YuNet", lambda: yunet.run(rgb))]:
            t0 = time.perf_counter()
            dets[name][image.rel_path] = fn()
            seconds[name] += time.perf_counter() - t0
    small = f"faces under {cap} px at the base scale"
    passes = {  # label: (detector, score floor, only faces under the cap)
        f"CenterFace >= {min_score:g}, any size (before)": ("CenterFace", min_score, False),
        f"CenterFace >= {min_score:g}, {small}": ("CenterFace", min_score, True),
        f"YuNet >= {min_score:g}, {small} (Veil's default)": ("YuNet", min_score, True),
        f"YuNet >= {min_score:g}, any size": ("YuNet", min_score, False),
        f"YuNet >= 0.5, {small}": ("YuNet", 0.5, True),
    }

    def full_res_faces(label, rel, geometry):
        key, thr, capped = passes[label]
        faces = dets[key][rel]
        keep = faces.score >= thr
        if capped:
            keep &= long_side_px(faces.xyxy) * dict(FULL_RES_GEOMETRIES)[geometry] < cap
        return faces[keep]

    recall_rows, variants = [], {}
    box_scale = TrackOptions.box_scale
    for geometry, _ in FULL_RES_GEOMETRIES:
        for label in [None, *passes]:
            found_all, sizes, fp_full = [], [], 0
            for image in images:
                base = dets[f"base {geometry}"][image.rel_path]
                size = image.xywh[:, 2:].max(axis=1) if len(image.xywh) else np.zeros(0)
                ignore = np.concatenate([image.all_xyxy[len(image.xywh):], image.xyxy[size < 10]])
                found, _ = match_detections(image.xyxy, base.xyxy, base.score, ignore)
                if label:
                    full = full_res_faces(label, image.rel_path, geometry)
                    found_full, fp = match_detections(image.xyxy, full.xyxy, full.score, ignore)
                    found |= found_full
                    fp_full += fp
                found_all.append(found)
                sizes.append(size)
            found, sizes = np.concatenate(found_all), np.concatenate(sizes)
            name = f"as {geometry}: base pass" + (f" + {label}" if label else " alone")
            key = passes[label][0] if label else None
            recall_rows.append([name] + [round(100 * float(found[(sizes >= lo) & (sizes < hi)].mean()), 1)
                                         for _, lo, hi in SIZE_BUCKETS_PX]
                               + [round(fp_full / len(images), 2) if label else "-",
                                  round(1000 * seconds[key] / len(images)) if key else "-"])

            def render(rel, src, geometry=geometry, label=label):
                parts = [dets[f"base {geometry}"][rel]] + ([full_res_faces(label, rel, geometry)] if label else [])
                faces = merge_union(FaceBoxes.concatenate(parts))
                factor = np.where(faces.score < WEAK_DETECTION_SCORE, box_scale + WEAK_DETECTION_EXTRA_SCALE,
                                  box_scale)
                return redact_frame(src, list(scale_boxes(faces.xyxy, factor)), RedactOptions())
            variants[name] = render
    stats = judge(images, variants)
    render_rows = [[name] + visibility_cells(st) for name, st in stats.items()]
    return recall_rows, render_rows, {"photos": len(images), "min_score": min_score}


def cmd_full_res(args) -> None:
    """The full-resolution pass (small faces in frames larger than 640 px): YuNet against
    CenterFace, on WIDER photos taken as frames and on real clips."""
    from common import SIZE_BUCKETS_PX

    recall_rows, render_rows, meta = full_res_wider()
    for row in recall_rows + render_rows:
        print(row, flush=True)
    clip_rows = compare_on_clips(VIDEO_OUT / "full-res", FULL_RES_CLIPS,
                                 ("centerface", ["--full-res-centerface"]), ("yunet", []))
    body = (
        f"### Video: the full-resolution pass, YuNet against CenterFace\n\n`{command_line()}` "
        f"({machine_note()}). Frames larger than 640 px get a pass at their own size twice a second, "
        "for faces too small for the 640-px base pass.\n\n"
        f"**WIDER val photos taken as frames** (all {meta['photos']}): the photo is the full-resolution "
        "frame; the base pass (CenterFace) sees it scaled by 1/2, as in a 720p video, or by 1/3, as in "
        "1080p. Recall: a face counts as found when either pass finds it (IoU >= 0.5); false detections "
        "per photo are the full-resolution pass's own (the base pass's are the same in every row); ms: "
        "that pass per photo (one thread pool, shared machine). The base pass keeps faces at "
        f"min_score ({meta['min_score']:g}); the full-resolution pass as each row says.\n\n"
        + md_table(["passes"] + [f"{b[0]} px found %" for b in SIZE_BUCKETS_PX]
                   + ["false detections / photo (full-res pass)", "full-res pass ms / photo"], recall_rows)
        + "\n\nThe same passes rendered: both passes' faces merged as the engine merges them, grown by "
        "the video box scale (1.3, 1.6 under a score of 0.5), mosaic, judged like `stills.py render` "
        "(visible: fine-detail correlation >= 0.5 in the inner 80% of the face; over-redaction: "
        "textured 16x16 blocks outside every face grown 1.6x that lost their detail). No tracking, "
        "padding or gap filling: one frame's passes only.\n\n"
        + md_table(["passes"] + [f"{b[0]} px visible % (n)" for b in SIZE_BUCKETS_PX]
                   + [">=20 px visible % (n)", "over-redaction %"], render_rows)
        + "\n\n**Real clips larger than 640 px** (`bench/veil_plan.py --plan`, and with "
        "`--full-res-centerface`: CenterFace runs the full-resolution pass, under the same 24-px limit "
        "and with the same padding; one run each): tracks, share of all frame pixels hidden, and the "
        "analysis pass's time.\n\n"
        + md_table(["clip", "size", "frames", "tracks (CenterFace)", "tracks (YuNet)",
                    "hidden area % (CenterFace)", "hidden area % (YuNet)", "analyse s (CenterFace)",
                    "analyse s (YuNet)"], clip_rows))
    write_section("video-full-res", body)


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("youtube")
    p.add_argument("--plans", action="store_true")
    p.add_argument("--cli", action="store_true", help="also Veil's CLI with its own defaults")
    p.add_argument("--turn", type=int, default=0, choices=[0, 90, 180, 270],
                   help="turn every frame (and its ground truth) this many degrees counter-clockwise: "
                        "people lying down or upside down")
    p.add_argument("--tilt", type=int, default=0, metavar="DEG",
                   help="tilt every frame (and its ground truth) DEG degrees counter-clockwise, "
                        "between the quarter turns: heads tilted, people leaning or half lying")
    p.add_argument("--small", type=int, default=0, metavar="PX",
                   help="shrink every frame so the median face is PX px, on a 1280x720 canvas")
    p.add_argument("--reuse", action="store_true",
                   help="judge deface's and the check's outputs of an earlier run again instead of "
                        "rerunning them (they do not change with Veil's code)")
    sub.add_parser("turn-cost")
    sub.add_parser("full-res")
    p = sub.add_parser("speed")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--clip", type=Path, help="the 720p clip (default: $VEIL_CLIP_720P or 2person.mp4)")
    p.add_argument("--tag", default="", help="suffix of the RESULTS sections (speed-720p-TAG)")
    p.add_argument("--fps", type=int, help="play the clip's frames at this rate instead (a 25-fps "
                   "clip: Veil's schedule is in detections per second, so more of them per frame)")
    p.add_argument("--only", nargs="*", choices=["720p", "1080p"])
    p.add_argument("--skip-deface", action="store_true")
    p.add_argument("--cli", action="store_true", help="also Veil's CLI with its own defaults")
    p.add_argument("veil_args", nargs="*")
    p = sub.add_parser("speed-all")
    p.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.command == "youtube" and args.tilt and (args.turn or args.small):
        parser.error("--tilt is a run of its own (--turn and --small go together)")
    {"youtube": cmd_youtube, "speed": cmd_speed, "speed-all": cmd_speed_all,
     "turn-cost": cmd_turn_cost, "full-res": cmd_full_res}[args.command](args)


if __name__ == "__main__":
    main()
