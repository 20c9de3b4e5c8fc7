"""Hard single cases: faces in profile, occluded, tilted, and heads in a crowd, face by face.

    .venv/bin/python bench/hard_cases.py [--write]

../shared/eval/stills/hard_cases holds mmpose's test samples: a few photos from each of AFLW
and 300W-LP (profiles), COFW (occlusion), 300W, LaPa and WFLW (landmark sets), COCO-WholeBody
(each person's face box, where it marks the face valid) and PoseTrack18 (each person's head
box: heads seen from behind among them, which no face detector is meant to find), and the
group photos of ../shared/eval/stills/pascal_dlib (PASCAL VOC, dlib's face boxes). This links
them into WIDER's layout under bench/out/hard_cases (git-ignored; the photos stay in ../shared),
runs `bench/stills.py render` on that folder (Veil's CLI by default and with --fast, deface
with its defaults, the same criterion), and lists each face: which tool left it visible
(fine-detail correlation >= 0.5 in the inner 80% of its box), set by set.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (EVAL_DIR, MAX_HIDDEN_CORRELATION, OUT_DIR, ROOT, VEIL_PY,  # noqa: E402
                    command_line, face_visibility, fine_detail, load_wider, machine_note,
                    md_table, run, textured_blocks_lost, to_gray, write_section)

SRC = EVAL_DIR / "stills" / "hard_cases" / "tests" / "data"
DLIB_FACES = EVAL_DIR / "stills" / "pascal_dlib" / "examples" / "faces"
HERE = OUT_DIR / "hard_cases"
WIDER_LAYOUT = HERE / "wider"
LANDMARK_SETS = ("aflw", "300wlp", "cofw", "300w", "lapa", "wflw")
TOOLS = {"deface 1.5.0 default": "deface", "Veil": "veil", "Veil --fast": "veil-fast"}


def faces_by_photo() -> dict[str, tuple[Path, list[tuple[list[float], bool]]]]:
    """{set/photo name: (source file, [(face box xywh, scored)])} from the samples' own JSON."""
    photos = {}
    for name in LANDMARK_SETS:
        data = json.loads(next((SRC / name).glob("test_*.json")).read_text())
        for im in data["images"]:
            photos[f"{name}/{im['file_name']}"] = (SRC / name / im["file_name"], [
                (a["bbox"], True) for a in data["annotations"] if a["image_id"] == im["id"]])
    data = json.loads((SRC / "coco" / "test_coco_wholebody.json").read_text())
    for im in data["images"]:
        photos[f"coco/{im['file_name']}"] = (SRC / "coco" / im["file_name"], [
            (a["face_box"], bool(a["face_valid"])) for a in data["annotations"]
            if a["image_id"] == im["id"] and a["face_box"][2] > 0])
    data = json.loads((SRC / "posetrack18" / "annotations" / "test_posetrack18_val.json").read_text())
    for im in data["images"]:
        path = SRC / "posetrack18" / im["file_name"]
        photos[f"posetrack18/{path.parent.name}_{path.name}"] = (path, [
            (a["bbox_head"], True) for a in data["annotations"]
            if a["image_id"] == im["id"] and "bbox_head" in a])
    for name in ("training.xml", "testing.xml"):
        for im in ET.parse(DLIB_FACES / name).getroot().iter("image"):
            photos[f"pascal_dlib/{im.get('file')}"] = (DLIB_FACES / im.get("file"), [
                ([float(b.get(k)) for k in ("left", "top", "width", "height")], b.get("ignore") != "1")
                for b in im.iter("box")])
    return photos


def write_wider_layout(photos: dict) -> None:
    """images/<set>/<photo> (links to the photos) and gt.txt in WIDER's format (unscored faces
    marked invalid=1)."""
    shutil.rmtree(WIDER_LAYOUT, ignore_errors=True)
    lines = []
    for rel, (src, faces) in photos.items():
        (WIDER_LAYOUT / "images" / rel).parent.mkdir(parents=True, exist_ok=True)
        (WIDER_LAYOUT / "images" / rel).symlink_to(src)
        lines += [rel, str(len(faces))] + [
            f"{round(x)} {round(y)} {round(w)} {round(h)} 0 0 0 {0 if scored else 1} 0 0"
            for (x, y, w, h), scored in faces] + (["0 0 0 0 0 0 0 0 0 0"] if not faces else [])
    (WIDER_LAYOUT / "gt.txt").write_text("\n".join(lines) + "\n")


def render() -> None:
    """stills.py render on that layout, its own outputs and tables kept under bench/out/hard_cases."""
    env = os.environ | {"VEIL_WIDER_DIR": str(WIDER_LAYOUT), "VEIL_BENCH_OUT": str(HERE),
                        "VEIL_RESULTS": str(HERE / "RESULTS.md")}
    run([str(VEIL_PY), "bench/stills.py", "render"], HERE / "render.log", env=env)
    run([str(VEIL_PY), "bench/stills.py", "render", "--skip-deface", "--tag=-fast", "--", "--fast"],
        HERE / "render-fast.log", env=env)


def judge() -> tuple[list[list], list[list], dict]:
    """(rows per set, rows per face some tool left visible, background lost per tool)."""
    per_set: dict[str, dict] = {}
    visible_rows, background = [], {tool: [0, 0] for tool in TOOLS}
    for image in load_wider(WIDER_LAYOUT):
        src = cv2.imread(str(WIDER_LAYOUT / "images" / image.rel_path))
        d_in = fine_detail(to_gray(src))
        set_name = image.rel_path.split("/")[0]
        counts = per_set.setdefault(set_name, {"photos": 0, "faces": 0} | {t: 0 for t in TOOLS})
        counts["photos"] += 1
        counts["faces"] += len(image.xyxy)
        corr = {}
        for tool, folder in TOOLS.items():
            out = cv2.imread(str(HERE / "stills" / folder / image.rel_path))
            d_out = fine_detail(to_gray(out))
            corr[tool] = face_visibility(d_in, d_out, image.xyxy)
            counts[tool] += int(np.sum(corr[tool] >= MAX_HIDDEN_CORRELATION))
            textured, lost = textured_blocks_lost(d_in, d_out, image.all_xyxy)
            background[tool][0] += textured
            background[tool][1] += lost
        for k, (x, y, w, h) in enumerate(image.xywh):
            if any(corr[t][k] >= MAX_HIDDEN_CORRELATION for t in TOOLS):
                visible_rows.append([image.rel_path, k, f"{w:.0f}x{h:.0f}"]
                                    + [f"{corr[t][k]:.2f}" for t in TOOLS])
    set_rows = [[name, c["photos"], c["faces"]] + [c[t] for t in TOOLS] for name, c in per_set.items()]
    totals = [sum(r[i] for r in set_rows) for i in range(1, len(set_rows[0]))]
    set_rows.append(["all"] + totals)
    return set_rows, visible_rows, {t: round(100 * lost / max(textured, 1), 2)
                                    for t, (textured, lost) in background.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the section to bench/RESULTS.md")
    parser.add_argument("--skip-run", action="store_true", help="judge the outputs already there")
    args = parser.parse_args()
    for folder in (SRC, DLIB_FACES):
        if not folder.is_dir():
            sys.exit(f"{folder} is missing: these photos come with ../shared/eval")
    if not args.skip_run:
        write_wider_layout(faces_by_photo())
        render()
    set_rows, visible_rows, background = judge()
    tools = list(TOOLS)
    body = (
        "### Stills: hard single cases, face by face\n\n"
        f"`{command_line()}` ({machine_note()}; ../shared/eval/stills/hard_cases, mmpose's test "
        "samples). Profiles (AFLW, 300W-LP), occlusion (COFW), landmark sets (300W, LaPa, WFLW), "
        "COCO-WholeBody's face boxes (those it marks valid) and PoseTrack18's head boxes, which "
        "include heads seen from behind, and ../shared/eval/stills/pascal_dlib's group photos "
        "(PASCAL VOC, dlib's training and testing boxes). Linked into WIDER's layout under bench/out/hard_cases and "
        "rendered by `bench/stills.py render` there: Veil's CLI by default and with `--fast`, "
        "deface with its defaults. Visible: fine-detail correlation >= 0.5 in the inner 80% of "
        "the box.\n\n"
        + md_table(["set", "photos", "faces or heads"] + [f"{t}: visible" for t in tools], set_rows)
        + "\n\nBackground lost (textured 16x16 blocks outside every box grown 1.6x): "
        + ", ".join(f"{t} {v}%" for t, v in background.items())
        + ".\n\nEvery face or head some tool left visible, and each tool's correlation:\n\n"
        + md_table(["photo", "face", "box px"] + tools, visible_rows))
    print(body)
    if args.write:
        write_section("stills-hard-cases", body)


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
