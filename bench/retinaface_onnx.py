"""RetinaFace on ONNX Runtime (models/retinaface.onnx, converted at setup) against the frozen
TensorFlow graph it came from, on WIDER val photos: the same faces, and the time.

    .venv/bin/python bench/retinaface_onnx.py [--subsample 10] [--repeats 2] [--write]

Each photo gets the RetinaFace passes of Veil's default photo plan (the sizes and mirroring of
``schedule.THOROUGH_PHOTO_PLAN``), once on each backend, the order alternating photo by photo
so both meet the same load; every detection at >= 0.1 (the vote's floor) is compared.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import (WIDER_DIR, command_line, load_wider, machine_note, md_table,  # noqa: E402
                    write_section)

MIN_SCORE = 0.1


def main() -> None:
    from app.pipeline.boxes import iou_matrix
    from app.pipeline.detect import detect_resized, default_threads
    from app.pipeline.retinaface import RetinaFace, shipped_graph
    from app.pipeline.schedule import THOROUGH_PHOTO_PLAN, still_plan

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subsample", type=int, default=10, help="every Nth WIDER val photo")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()

    threads = default_threads()
    backends = {"TensorFlow, frozen graph as shipped (before)": shipped_graph(MIN_SCORE, threads),
                "ONNX Runtime, retinaface.onnx (now)": RetinaFace(MIN_SCORE, threads).run}
    passes = [p for p in THOROUGH_PHOTO_PLAN.passes if p.detector == "retinaface"]
    images = load_wider()[::args.subsample]
    seconds = {name: [] for name in backends}
    found = {name: 0 for name in backends}
    unmatched, box_diff, score_diff = 0, 0.0, 0.0
    for rep in range(args.repeats):
        for k, image in enumerate(images):
            rgb = cv2.cvtColor(cv2.imread(str(WIDER_DIR / "images" / image.rel_path)), cv2.COLOR_BGR2RGB)
            mirrored = np.ascontiguousarray(rgb[:, ::-1])
            order = list(backends) if (k + rep) % 2 == 0 else list(backends)[::-1]
            results = {}
            for name in order:
                start = time.perf_counter()
                results[name] = [detect_resized(backends[name], mirrored if p.mirrored else rgb, side)
                                 for p, side in still_plan(rgb.shape[:2], tuple(passes))]
                seconds[name].append(time.perf_counter() - start)
            if rep:
                continue
            before, after = results.values()
            for a, b in zip(before, after):
                for name, faces in zip(backends, (a, b)):
                    found[name] += len(faces)
                if not len(a) or not len(b):
                    unmatched += abs(len(a) - len(b))
                    continue
                iou = iou_matrix(a.xyxy, b.xyxy)
                match = iou.argmax(axis=1)
                same = iou.max(axis=1) > 0.9
                unmatched += int((~same).sum()) + abs(len(a) - len(b))
                box_diff = max(box_diff, float(np.abs(a.xyxy[same] - b.xyxy[match[same]]).max(initial=0)))
                score_diff = max(score_diff, float(np.abs(a.score[same] - b.score[match[same]]).max(initial=0)))
        print(f"repeat {rep + 1}: " + ", ".join(f"{n}: {1000 * np.mean(s[-len(images):]):.0f} ms/photo"
                                                for n, s in seconds.items()), flush=True)
    medians = {name: 1000 * float(np.median(s)) for name, s in seconds.items()}
    first = next(iter(medians.values()))
    rows = [[name, found[name], f"{ms:.0f}", f"{first / ms:.2f}"] for name, ms in medians.items()]
    header = ["RetinaFace run by", "faces found (>= 0.1, all passes)", "ms / photo (median)", "speed-up"]
    body = (f"### RetinaFace on ONNX Runtime against TensorFlow\n\n`{command_line()}` ({machine_note()}; "
            f"every {args.subsample}th WIDER val photo, {len(images)} photos x {args.repeats} repeats; "
            f"the {len(passes)} RetinaFace passes of Veil's default photo plan per photo, {threads} threads, "
            "backends alternating photo by photo). Faces compared on the first repeat: "
            f"{unmatched} found by one backend only; matched faces (IoU > 0.9) differ by at most "
            f"{box_diff:.3g} px in their boxes and {score_diff:.2g} in their scores.\n\n" + md_table(header, rows))
    print(body)
    if args.write:
        write_section("retinaface-onnx", body)


if __name__ == "__main__":
    main()
