"""Which detection passes and settings hide the most photo faces for the least background.

    .venv/bin/python bench/stills_plans.py passes   # run and cache each detector pass
    .venv/bin/python bench/stills_plans.py judge    # render every plan in-process and judge it
    .venv/bin/python bench/stills_plans.py recall   # detector recall / false positives per plan
    .venv/bin/python bench/stills_plans.py turns    # photos turned 90/180/270 degrees
    .venv/bin/python bench/stills_plans.py background  # lost background: near faces or not

Same photos, faces and criterion as ``bench/stills.py render`` (every 3rd WIDER val photo,
fine-detail correlation inside the inner 80% of each face box; over-redaction on textured
16x16 blocks outside all faces grown 1.6x). The redaction is Veil's own (``redact_frame``,
mosaic in an ellipse); only the JPEG write is skipped, which the q75/q95 check rows show does
not change the verdicts. The cache is keyed by pass name only: delete
bench/out/stills/plans-cache after changing a detector.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import (DEFACE_BIN, DEFACE_PY, OUT_DIR, SIZE_BUCKETS_PX, WIDER_DIR,  # noqa: E402
                    command_line, load_wider, machine_note, md_table, ordinal, run, write_section)

CACHE_ROOT = OUT_DIR / "stills" / "plans-cache"
RAW_MIN_SCORE = 0.1
SUBSAMPLE = 3


def detector_for(name: str):
    if name == "cf":
        from app.pipeline.detect import CenterFace
        return CenterFace(min_score=RAW_MIN_SCORE)
    if name == "rf":
        from app.pipeline.retinaface import RetinaFace
        return RetinaFace(min_score=RAW_MIN_SCORE)
    if name == "yn":
        from app.pipeline.yunet import YuNet
        return YuNet(min_score=RAW_MIN_SCORE)
    raise ValueError(name)


def pass_key(det: str, flip: bool, factor: float) -> str:
    return f"{det}_{'flip' if flip else 'plain'}_x{factor:g}"


def cache_dir(subsample: int) -> Path:
    return CACHE_ROOT if subsample == SUBSAMPLE else CACHE_ROOT.with_name(f"plans-cache-every{subsample}")


def cached(images, det: str, flip: bool, factor: float, detector=None, cache: Path = CACHE_ROOT):
    path = cache / f"{pass_key(det, flip, factor)}.npz"
    if path.exists():
        data = np.load(path, allow_pickle=True)
        return data["dets"].item(), float(data["s_per_image"])
    detector = detector or detector_for(det)
    dets = {}
    t0 = time.perf_counter()
    for image in images:
        rgb = cv2.cvtColor(cv2.imread(str(WIDER_DIR / "images" / image.rel_path)), cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        src = np.ascontiguousarray(rgb[:, ::-1]) if flip else rgb
        faces = detector.detect(src, round(max(h, w) * factor))
        xyxy = faces.xyxy.copy()
        if flip:
            xyxy[:, [0, 2]] = w - faces.xyxy[:, [2, 0]]
        dets[image.rel_path] = (xyxy, faces.score)
    s = (time.perf_counter() - t0) / len(images)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, dets=np.array(dets, dtype=object), s_per_image=s)
    print(f"{pass_key(det, flip, factor)}: {s * 1000:.0f} ms/photo", flush=True)
    return dets, s


PASSES = [("cf", False, 1), ("cf", False, 2), ("cf", False, 0.5), ("cf", True, 1), ("cf", False, 1.5),
          ("rf", False, 1), ("rf", False, 2), ("rf", False, 0.5), ("rf", True, 1), ("cf", True, 2),
          ("rf", True, 2), ("yn", False, 1), ("yn", False, 2), ("yn", True, 1), ("yn", False, 1.5),
          ("yn", False, 0.5), ("yn", True, 2)]


def cmd_passes(args) -> None:
    images = load_wider()[::args.subsample]
    loaded = {}
    for det, flip, factor in PASSES:
        if (args.only and det not in args.only) or (args.keys and pass_key(det, flip, factor) not in args.keys):
            continue
        if det not in loaded:
            loaded[det] = detector_for(det)
        cached(images, det, flip, factor, loaded[det], cache_dir(args.subsample))


# ---------------------------------------------------------------- plans, rendered and judged
# Each plan: passes as (cached pass, largest face it may report in px), the vote's thresholds
# (CenterFace alone, RetinaFace alone, two passes agreeing) and the hidden-area scale (one
# factor, or Veil's photo rule: box_scale + up to 0.6 for faces under 64 px). The combination is
# Veil's own (app.pipeline.detect.vote, app.pipeline.schedule.still_box_scales).
CF1, CF15, CF2, CFF, CF2F = "cf_plain_x1", "cf_plain_x1.5", "cf_plain_x2", "cf_flip_x1", "cf_flip_x2"
RF1, RF2, RFH, RFF, RF2F = "rf_plain_x1", "rf_plain_x2", "rf_plain_x0.5", "rf_flip_x1", "rf_flip_x2"
YN1, YN15, YN2, YNH, YNF = "yn_plain_x1", "yn_plain_x1.5", "yn_plain_x2", "yn_plain_x0.5", "yn_flip_x1"
ANY = float("inf")
DEFACE_ROW = "deface 1.5.0 default (its own outputs, from bench/stills.py render)"
FAST_PLAN = ("CF 1x + 1.5x (<100 px) + mirrored + 2x (<64 px), RF 0.5x + mirrored (<100 px), vote "
             "(Veil's --fast plan, the default until 2026-11-27)")
FAST_PASSES = [(CF1, ANY), (CF15, 100), (CFF, ANY), (RFH, ANY), (RFF, 100), (CF2, 64)]
FIVE_PASSES = FAST_PASSES[:5]  # the default until the 2x pass was added
ALL_PASSES = [(pass_key(*p), {1.5: 100, 2: 64}.get(p[2], ANY)) for p in PASSES]
THOROUGH_NOTE = " (Veil's default)"  # app.pipeline.schedule.THOROUGH_PHOTO_PLAN


def plan(passes, cf_alone=0.2, rf_alone=0.7, agree=0.1, box_scale=("photo", 1.2), yn_alone=0.7,
         yn_floor=0.0, votes=2, weak_cut=0.0):
    """yn_floor: YuNet's detections under it are dropped before the vote (neither kept alone
    nor a second opinion), its scores running differently from CenterFace's. votes: how many
    passes (the box's own included) must agree on a box it keeps below its pass's alone
    threshold; 2 is Veil's vote. weak_cut: the photo box scale is this much smaller (never
    under 1.0) for faces no pass is sure of (app.pipeline.schedule.still_hide_scales)."""
    return passes, cf_alone, rf_alone, agree, box_scale, yn_alone, yn_floor, votes, weak_cut


PLANS = {
    "first photo plan: CF 1x + 2x, score 0.2, box 1.5, no vote":
        plan([(CF1, ANY), (CF2, ANY)], agree=0.2, box_scale=1.5),
    "CF 1x + 2x (<64 px), score 0.2, box 1.5, no vote":
        plan([(CF1, ANY), (CF2, 64)], agree=0.2, box_scale=1.5),
    "CF 1x + 2x (<64 px) + mirrored, vote":
        plan([(CF1, ANY), (CF2, 64), (CFF, ANY)]),
    "CF 1x + 1.5x (<100 px) + mirrored, RF 0.5x + mirrored (<100 px), vote (previous default, five passes)":
        plan(FIVE_PASSES),
    "five passes, box 1.3 for all sizes":
        plan(FIVE_PASSES, box_scale=1.3),
    "five passes, agreement floor 0.15":
        plan(FIVE_PASSES, agree=0.15),
    "five passes, no vote (each pass alone)":
        plan(FIVE_PASSES, agree=1.0),
    "CF 1x + 2x (<64 px) + mirrored, RF 0.5x + mirrored (<100 px), vote (no 1.5x)":
        plan([(CF1, ANY), (CF2, 64), (CFF, ANY), (RFH, ANY), (RFF, 100)]),
    FAST_PLAN:
        plan(FAST_PASSES),
    "Veil's --fast passes with --min-score 0.3 (agreement at 0.15)":
        plan(FAST_PASSES, cf_alone=0.3, agree=0.15),
    "Veil's --fast passes with --min-score 0.4 --box-scale 1.0":
        plan(FAST_PASSES, cf_alone=0.4, agree=0.2, box_scale=("photo", 1.0)),
    "Veil's --fast plan + YN 1x":
        plan(FAST_PASSES + [(YN1, ANY)]),
    "Veil's --fast plan + YN 1x + 2x (<64 px)":
        plan(FAST_PASSES + [(YN1, ANY), (YN2, 64)]),
    "Veil's --fast plan + YN 1x + 2x (<64 px) + mirrored":
        plan(FAST_PASSES + [(YN1, ANY), (YN2, 64), (YNF, ANY)]),
    "Veil's --fast plan + YN 1x + 2x (<64 px), YN counted from 0.5":
        plan(FAST_PASSES + [(YN1, ANY), (YN2, 64)], yn_floor=0.5),
    "Veil's --fast plan + YN 1x + 2x (<64 px) + mirrored, YN counted from 0.5":
        plan(FAST_PASSES + [(YN1, ANY), (YN2, 64), (YNF, ANY)], yn_floor=0.5),
    "YN 1x alone, score 0.5":
        plan([(YN1, ANY)], yn_alone=0.5, agree=1.0),
    "CF 1x alone, score 0.2":
        plan([(CF1, ANY)], agree=1.0),
    "RF 0.5x alone, score 0.7":
        plan([(RFH, ANY)], agree=1.0),
    # Every cached pass (17: CF, RF, YN at 0.5x-2x, some mirrored; enlarged passes limited as
    # above), kept below its pass's own threshold only when several passes agree on it.
    **{f"all 17 passes, {votes} passes agree{', box 1.3' if box != 1.2 else ''}":
       plan(ALL_PASSES, votes=votes, box_scale=("photo", box))
       for votes, box in ((2, 1.2), (3, 1.2), (4, 1.2), (5, 1.2), (4, 1.3), (5, 1.3))},
    **{f"all 17 passes, 4 passes agree, box 1.3, {1.3 - cut:.1f} for faces no pass is sure of"
       f"{THOROUGH_NOTE if cut == 0.3 else ''}":
       plan(ALL_PASSES, votes=4, box_scale=("photo", 1.3), weak_cut=cut) for cut in (0.1, 0.3)},
    "all 17 passes but RF 2x and RF 2x mirrored (39% of the detector time), 4 passes agree, box 1.3":
        plan([p for p in ALL_PASSES if p[0] not in (RF2, RF2F)], votes=4, box_scale=("photo", 1.3)),
    "CF 1x + 2x + both mirrored, RF 1x + 2x + 0.5x + both mirrored, vote (9 passes)":
        plan([(CF1, ANY), (CF2, 64), (CFF, ANY), (CF2F, 64), (RF1, 100), (RF2, 48), (RFH, ANY),
              (RFF, 100), (RF2F, 48)]),
}


def plan_passes(dets: dict, rel: str, spec):
    """(each pass's faces in one photo, each pass's alone threshold) under one plan."""
    from app.pipeline.boxes import long_side_px
    from app.pipeline.types import FaceBoxes

    passes, cf_alone, rf_alone, _, _, yn_alone, yn_floor, _, _ = spec
    found, alone = [], []
    for key, max_px in passes:
        xyxy, score = dets[key][rel]
        keep = (long_side_px(xyxy) < max_px) & (score >= (yn_floor if key.startswith("yn") else 0.0))
        found.append(FaceBoxes(xyxy[keep], score[keep], np.full((int(keep.sum()), 5, 2), np.nan, np.float32)))
        alone.append({"cf": cf_alone, "rf": rf_alone, "yn": yn_alone}[key[:2]])
    return found, alone


def plan_faces(dets: dict, rel: str, spec, merge=None):
    """Faces found in one photo under one plan (before margins), as Veil's vote combines them
    (``merge``: how overlapping kept boxes become one, Veil's union unless given)."""
    from app.pipeline.detect import vote

    found, alone = plan_passes(dets, rel, spec)
    return vote(found, alone, spec[3], 0.3, merge, min_agreeing=spec[7] - 1)


def plan_boxes(dets: dict, rel: str, spec) -> np.ndarray:
    """Hide boxes for one photo under one plan, as Veil computes them."""
    from app.pipeline.boxes import long_side_px, scale_boxes
    from app.pipeline.detect import sure_faces, vote
    from app.pipeline.schedule import still_hide_scales

    found, alone = plan_passes(dets, rel, spec)
    faces = vote(found, alone, spec[3], 0.3, min_agreeing=spec[7] - 1)  # as plan_faces, keeping the passes
    box_scale = spec[4]
    if not isinstance(box_scale, tuple):
        return scale_boxes(faces.xyxy, box_scale)
    sure = sure_faces(faces, found, alone, 0.3)
    return scale_boxes(faces.xyxy, still_hide_scales(long_side_px(faces.xyxy), sure, box_scale[1], spec[8]))


def load_cached_passes(cache: Path) -> dict:
    """{pass name: {photo: (xyxy, score)}} for every pass of PASSES cached in this folder."""
    keys = {pass_key(*p) for p in PASSES}
    return {k: np.load(cache / f"{k}.npz", allow_pickle=True)["dets"].item()
            for k in keys if (cache / f"{k}.npz").exists()}


def photos_phrase(subsample: int) -> str:
    """'all' or 'every 3rd of the', before 'WIDER val photos'."""
    return "all" if subsample == 1 else f"every {ordinal(subsample)} of the"


def pass_cost_ms(keys, cache: Path = CACHE_ROOT) -> float:
    return sum(1000 * float(np.load(cache / f"{k}.npz", allow_pickle=True)["s_per_image"]) for k in keys)


def cmd_judge(args) -> None:
    from app.pipeline.redact import redact_frame
    from app.pipeline.types import RedactOptions
    from stills import from_dir, judge, visibility_cells

    images = load_wider()[args.offset::args.subsample]
    cache = cache_dir(args.subsample)
    if not cache.is_dir() or args.offset:  # passes cached for all photos serve any subset
        cache = cache_dir(1)
    dets = load_cached_passes(cache)
    plans = {n: p for n, p in PLANS.items()
             if all(k in dets for k, _ in p[0]) and (not args.match or args.match in n)}
    options = RedactOptions()

    def produce(spec, redact_options=options):
        return lambda rel, src: redact_frame(src, list(plan_boxes(dets, rel, spec)), redact_options)

    if args.cells:  # one plan, different mosaic cell floors (and blur), same hidden areas
        spec = plans[FAST_PLAN]
        plans = {f"mosaic, cells >= {m} px": spec for m in (2, 4, 6, 8, 10)} | {"blur": spec}
        variants = {name: produce(spec, RedactOptions(min_cell_px=int(name.split()[-2])) if "cells" in name
                                  else RedactOptions(style="blur")) for name in plans}
    else:
        variants = {name: produce(plan) for name, plan in plans.items()}
    deface_out = OUT_DIR / "stills" / "deface"
    if deface_out.is_dir():  # written by `bench/stills.py render`
        variants[DEFACE_ROW] = from_dir(deface_out)
    stats = judge(images, variants)
    rows = []
    for name, st in stats.items():
        cost = round(pass_cost_ms((k for k, _ in plans[name][0]), cache)) if name in plans else "-"
        rows.append([name] + visibility_cells(st) + [cost])
        print(rows[-1], flush=True)
    header = ["plan"] + [f"{b[0]} px visible % (n)" for b in SIZE_BUCKETS_PX] + [
        ">=20 px visible % (n)", "over-redaction %", "detector ms / photo"]
    if args.write and args.cells:
        write_section("stills-mosaic-cells", (
            "### Stills: mosaic cell size on small faces\n\n"
            f"`{command_line()}` ({machine_note()}; "
            f"{photos_phrase(args.subsample)} WIDER val photos, {len(images)}). "
            "Veil's --fast photo plan, the same hidden areas, rendered with different floors on the "
            "mosaic cell size (cells are also at most 1/8 of the hidden box) and with blur; judged "
            "like `stills.py render`.\n\n" + md_table(["redaction"] + header[1:], rows)))
    elif args.write:
        everything = args.subsample == 1
        section, title = (("stills-plans-all", " (all photos)") if everything else
                          ("stills-plans", "") if (args.subsample, args.offset) == (SUBSAMPLE, 0) else
                          (f"stills-plans-every{args.subsample}-from{args.offset}",
                           f" (every {ordinal(args.subsample)} photo from the {ordinal(args.offset + 1)})"))
        write_section(section, (
            f"### Stills: detection plans judged on the rendered photos{title}\n\n"
            f"`{command_line()}` ({machine_note()}; "
            f"{photos_phrase(args.subsample)} WIDER val photos{'' if not args.offset else f' from the {ordinal(args.offset + 1)}'}, "
            f"{len(images)} photos; plans whose passes are cached for these photos). "
            "Passes are cached by `bench/stills_plans.py passes` (raw detections >= 0.1); each plan is "
            "combined by Veil's own vote and margins, rendered with Veil's mosaic and judged like "
            "`stills.py render` (visible: fine-detail correlation >= 0.5 in the inner 80% of the face; "
            "over-redaction: textured 16x16 blocks outside every face grown 1.6x that lost their detail). "
            "CF = CenterFace, RF = RetinaFace, YN = YuNet (video's full-resolution detector); '<N px': "
            "the pass may only report faces under N px. "
            "Vote: a face is kept when CF scores it >= 0.2, RF >= 0.7, YN >= 0.7, or two passes agree on it "
            "(IoU >= 0.3) at >= 0.1 ('YN counted from 0.5': YuNet's detections under 0.5 are dropped "
            "first; 'N passes agree': N passes, not two, at >= 0.1). "
            "Box: 1.2x for faces >= 64 px, up to 1.8x for faces <= 32 px, "
            "unless the plan says otherwise. Detector ms: sum of the passes' cached run times, "
            "measured once each while other work ran: a rough guide only.\n\n" + md_table(header, rows)))


def cmd_recall(args) -> None:
    """Detector recall (IoU >= 0.5) by face size and WIDER difficulty, and false positives per
    photo, of each plan's voted faces: the same table as ``stills.py detector``, for Veil's
    photo plans."""
    from app.pipeline.detect import merge_nms
    from stills import deface_recall_row, recall_row

    images = load_wider()[::args.subsample]
    cache = cache_dir(args.subsample)
    dets = load_cached_passes(cache)
    rows, seen = [], set()
    for name, spec in PLANS.items():
        detection = (tuple(spec[0]),) + tuple(spec[1:4]) + tuple(spec[5:8])  # margins do not change detections
        if (not all(k in dets for k, _ in spec[0]) or (args.match and args.match not in name)
                or detection in seen):
            continue
        seen.add(detection)
        row, _ = recall_row(name, images, lambda rel, spec=spec: (
            (f := plan_faces(dets, rel, spec, merge_nms)).xyxy, f.score),
            pass_cost_ms((k for k, _ in spec[0]), cache) / 1000)
        rows.append(row)
        print(row, flush=True)
    if (row := deface_recall_row(images)) is not None:
        rows.append(row)
        print(row, flush=True)
    header = ["plan"] + [f"{b[0]} px %" for b in SIZE_BUCKETS_PX] + [
        "easy %", "medium %", "hard %", "FP / photo", "detector ms / photo"]
    if args.write:
        write_section("stills-plans-recall", (
            "### Stills: detector recall of Veil's photo plans (WIDER val, IoU >= 0.5)\n\n"
            f"`{command_line()}` ({machine_note()}; "
            f"{photos_phrase(args.subsample)} WIDER val photos, "
            f"{len(images)}). The faces each plan's vote keeps, overlapping boxes reduced to the "
            "best-scoring one (NMS at IoU 0.3), matched one to one to the valid faces at IoU >= 0.5; "
            "recall by the face's longer side and by WIDER's easy / medium / hard lists; a detection "
            "matching no face (nor an invalid or under-10 px one) is a false positive. To hide, Veil "
            "then grows each kept box to the union of the boxes it overlaps and adds margins: what "
            "that leaves visible is judged on the rendered photos (stills-render, stills-plans). "
            "Detector ms: the cached passes' run times (rough). deface: its own detections "
            "(`bench/deface_stills.py`).\n\n" + md_table(header, rows)))


# ---------------------------------------------------------------- where the lost background comes from
def touches_a_face(xyxy: np.ndarray, faces_xyxy: np.ndarray) -> np.ndarray:
    """(N,) bool: the box covers >= 10% of a labelled face's box, or lies >= half inside one."""
    from app.pipeline.boxes import box_area, intersection_matrix

    if not len(xyxy) or not len(faces_xyxy):
        return np.zeros(len(xyxy), bool)
    inter = intersection_matrix(xyxy, faces_xyxy)
    of_face = inter / np.maximum(box_area(faces_xyxy)[None, :], 1e-6)
    of_box = inter / np.maximum(box_area(xyxy)[:, None], 1e-6)
    return (of_face >= 0.1).any(axis=1) | (of_box >= 0.5).any(axis=1)


def cmd_background(args) -> None:
    """Veil's --fast photo passes (upright, cached) split by whether each kept detection
    touches a labelled face: how much of the lost background each part costs, and what a
    perfect filter of the others would leave visible."""
    from app.pipeline.boxes import long_side_px, scale_boxes
    from app.pipeline.detect import merge_union
    from app.pipeline.redact import redact_frame
    from app.pipeline.schedule import still_box_scales
    from app.pipeline.types import RedactOptions
    from stills import judge, visibility_cells

    images = load_wider()[::args.subsample]
    dets = load_cached_passes(cache_dir(args.subsample))
    spec = PLANS[FAST_PLAN]
    labelled = {image.rel_path: image.all_xyxy for image in images}
    counts = {"touching": 0, "away": 0}

    # Every cached pass, each detection >= RAW_MIN_SCORE kept: what the detectors find at all.
    # Enlarged passes keep their plan's size limit (they invent large faces).
    limits = {"x1.5": 100, "x2": 64}
    every = plan([(k, 100 if k.startswith("rf_flip") else limits.get(k.rsplit("_", 1)[1], ANY))
                  for k in sorted(dets)], RAW_MIN_SCORE, RAW_MIN_SCORE, RAW_MIN_SCORE, yn_alone=RAW_MIN_SCORE)

    def matches_a_face(xyxy, faces_xyxy):
        from app.pipeline.boxes import iou_matrix
        if not len(xyxy) or not len(faces_xyxy):
            return np.zeros(len(xyxy), bool)
        return (iou_matrix(xyxy, faces_xyxy) >= 0.3).any(axis=1)

    def produce(part):
        def render(rel, src):
            if part.startswith("every"):
                kept = plan_faces(dets, rel, every, merge=lambda faces: faces)
                test = touches_a_face if part == "every touching" else matches_a_face
                chosen = kept[test(kept.xyxy, labelled[rel])]
                xyxy = merge_union(chosen).xyxy
                hide = scale_boxes(xyxy, still_box_scales(long_side_px(xyxy), spec[4][1]))
                return redact_frame(src, list(hide), RedactOptions())
            kept = plan_faces(dets, rel, spec, merge=lambda faces: faces)  # before merging
            near = touches_a_face(kept.xyxy, labelled[rel])
            if part == "all":
                counts["touching"] += int(near.sum())
                counts["away"] += int((~near).sum())
            chosen = {"all": kept, "touching": kept[near], "away": kept[~near]}[part]
            xyxy = merge_union(chosen).xyxy
            hide = scale_boxes(xyxy, still_box_scales(long_side_px(xyxy), spec[4][1]))
            return redact_frame(src, list(hide), RedactOptions())
        return render

    names = {"all": "every kept detection (Veil's --fast passes, upright)",
             "touching": "only detections touching a labelled face (a perfect filter of the rest)",
             "away": "only detections touching no labelled face",
             "every touching": f"every cached pass ({len(dets)}: CF, RF, YN) at >= {RAW_MIN_SCORE}, only "
                               "detections touching a labelled face",
             "every matching": f"every cached pass ({len(dets)}: CF, RF, YN) at >= {RAW_MIN_SCORE}, only "
                               "detections overlapping a labelled face at IoU >= 0.3"}
    stats = judge(images, {names[p]: produce(p) for p in names})
    rows = [[name] + visibility_cells(st) for name, st in stats.items()]
    for row in rows:
        print(row, flush=True)
    per_photo = {k: round(v / len(images), 1) for k, v in counts.items()}
    print(per_photo)
    header = ["hidden areas"] + [f"{b[0]} px visible % (n)" for b in SIZE_BUCKETS_PX] + [
        ">=20 px visible % (n)", "over-redaction %"]
    if args.write:
        write_section("stills-background", (
            "### Stills: where the lost background comes from\n\n"
            f"`{command_line()}` ({machine_note()}; {photos_phrase(args.subsample)} WIDER val photos, "
            f"{len(images)}). Veil's --fast photo passes (upright, from the cache of `passes`), each "
            "kept detection sorted before merging: it touches a labelled face (covers >= 10% of a "
            "labelled face's box, valid or invalid, or lies >= half inside one) or not. Each part is "
            "merged, given margins and rendered like `judge`. Kept detections per photo, before merging "
            f"(several passes find the same face): {per_photo['touching']} touching a labelled face, "
            f"{per_photo['away']} touching none (an earlier hand check of 48 of these, by eye, not "
            "scripted, found about a third to be faces WIDER does not label). "
            "A filter that knew the labels is an upper bound for any false-positive filter, not "
            "something Veil can do. The last two rows ask what the detectors find at all: every "
            "cached pass (the enlarged ones limited as in the plans), every detection at >= "
            f"{RAW_MIN_SCORE}, filtered by the labels; 'touching' lets in large boxes that happen to "
            "cover a face, IoU >= 0.3 keeps only boxes of about the face's size.\n\n" + md_table(header, rows)))


# ---------------------------------------------------------------- photos turned a quarter or half
class MemoDetector:
    """A detector whose answers are kept by (image bytes, size): the variants of ``turns`` share
    every pass they have in common. ``spent`` adds up the first run's time of each answer
    given, so each variant is charged its own detector time."""

    def __init__(self, detector):
        self.detector, self.memo, self.spent = detector, {}, 0.0

    def detect(self, image_rgb, max_side_px):
        key = (hashlib.blake2b(image_rgb.tobytes(), digest_size=16).digest(), image_rgb.shape, max_side_px)
        if key not in self.memo:
            t0 = time.perf_counter()
            faces = self.detector.detect(image_rgb, max_side_px)
            self.memo[key] = (faces, time.perf_counter() - t0)
        faces, seconds = self.memo[key]
        self.spent += seconds
        return faces


def turned_back(root: Path, turns: int):
    """Outputs written under root for photos turned ``turns`` quarters, turned back upright."""
    def produce(rel, _src):
        return np.ascontiguousarray(np.rot90(cv2.imread(str(root / rel)), -turns))
    return produce


def cmd_turns(args) -> None:
    """Veil's photo detection (``detect_still``, in-process) on WIDER photos turned 0-3 quarter
    turns, with and without its quarter-turn passes; outputs are turned back and judged like
    ``judge``. The fast plan (``--fast``) unless --thorough: then the photo default, at each
    turn, without the variants."""
    from unittest import mock

    import app.pipeline.anonymize as anonymize
    from app.pipeline.redact import redact_frame
    from stills import judge, visibility_cells

    images = load_wider()[::args.subsample]
    names = ("cf", "rf", "yn") if args.thorough else ("cf", "rf")
    detectors = {{"cf": "centerface", "rf": "retinaface", "yn": "yunet"}[n]: MemoDetector(detector_for(n))
                 for n in names}
    options = anonymize.PHOTO_OPTIONS if args.thorough else anonymize.FAST_PHOTO_OPTIONS
    photo_plan = anonymize.photo_plan(options)
    plan_name = "Veil's default" if args.thorough else "Veil's fast plan"
    spent = {}

    def variant(name, degrees, quarter_turns=True, turned_min_score=None, turn_photo=True):
        patches = []
        if turned_min_score is not None:  # as a factor on the photo's min_score
            patches.append(mock.patch.object(anonymize, "STILL_TURNED_SCORE_FACTOR",
                                             turned_min_score / options.detect.min_score))
        if not turn_photo:
            patches.append(mock.patch.object(anonymize, "photo_quarter_turns", lambda sums: 0))

        def produce(rel, src_bgr):
            k = degrees // 90
            turned = np.ascontiguousarray(np.rot90(src_bgr, k))
            rgb = np.ascontiguousarray(turned[..., ::-1])
            before = sum(d.spent for d in detectors.values())
            with contextlib.ExitStack() as stack:
                for p in patches:
                    stack.enter_context(p)
                faces, sure = anonymize.find_still_faces(detectors, rgb, options.detect.min_score,
                                                         quarter_turns, plan=photo_plan)
            spent[name] = spent.get(name, 0.0) + sum(d.spent for d in detectors.values()) - before
            hide = anonymize.still_hide_boxes(faces, options.track.box_scale, (rgb.shape[1], rgb.shape[0]),
                                              sure, photo_plan.weak_margin_cut)
            out = redact_frame(turned, list(hide), options.redact)
            return np.ascontiguousarray(np.rot90(out, -k))
        return name, produce

    variants = dict([
        *(variant(f"photo turned {d} degrees, {plan_name} (quarter turns, turned faces kept at >= 0.4)", d)
          for d in (0, 90, 180, 270)),
        variant("photo turned 180 degrees, quarter-turn passes but the photo never turned upright "
                "(as for one upside-down person in an upright photo)", 180, turn_photo=False),
    ])
    if not args.thorough:  # what the fast plan's quarter-turn settings were chosen from
        variants |= dict([
            *(variant(f"photo turned {d} degrees, no quarter-turn passes (the plan before)", d, False)
              for d in (0, 90, 180, 270)),
            *(variant(f"photo turned {d} degrees, turned faces kept at >= {t}", d, turned_min_score=t)
              for t in (0.3, 0.5) for d in (0, 180)),
        ])
    if DEFACE_BIN.exists():  # deface on the same turned photos (bench/setup_deface.sh installs it)
        for degrees in (0, 90, 180, 270):
            out = OUT_DIR / "stills" / f"deface-every{args.subsample}-turned{degrees}"
            run([str(DEFACE_PY), "bench/deface_stills.py", str(out), "--subsample", str(args.subsample),
                 "--turns", str(degrees // 90)])
            variants[f"deface 1.5.0 default, photo turned {degrees} degrees"] = turned_back(out, degrees // 90)
    stats = judge(images, variants)
    rows = []
    for name, st in stats.items():
        cost = round(1000 * spent[name] / len(images)) if not name.startswith("deface") else "-"
        rows.append([name] + visibility_cells(st) + [cost])
        print(rows[-1], flush=True)
    header = ["photos and plan"] + [f"{b[0]} px visible % (n)" for b in SIZE_BUCKETS_PX] + [
        ">=20 px visible % (n)", "over-redaction %", "detector ms / photo"]
    if args.write:
        write_section("stills-turns" + ("-thorough" if args.thorough else ""), (
            f"### Stills: photos turned a quarter or half turn{', the default plan' if args.thorough else ''}\n\n"
            f"`{command_line()}` ({machine_note()}; {photos_phrase(args.subsample)} WIDER val "
            f"photos, {len(images)}). Each photo is turned counter-clockwise before Veil's photo "
            f"detection (`detect_still`, in-process, with the CLI's {'defaults' if args.thorough else '--fast plan'}) "
            "and its redaction; the "
            "output is turned back and judged like `judge` (visible: fine-detail correlation >= 0.5 "
            "in the inner 80% of the face; over-redaction: textured 16x16 blocks outside every face "
            "grown 1.6x that lost their detail). Turned photos stand in for scans and photos whose "
            "orientation tag was lost, and, with the photo never turned upright, for upside-down or "
            "lying people in an upright photo. deface ran on the same turned photos "
            "(`bench/deface_stills.py --turns K`). Detector ms: each variant's own detector time (passes "
            "shared between variants run once, and each variant is charged their time).\n\n"
            + md_table(header, rows)))


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("passes")
    p.add_argument("--only", nargs="*", help="detectors (cf, rf, yn)")
    p.add_argument("--keys", nargs="*", help="passes by name, e.g. cf_plain_x1 rf_flip_x1")
    p.add_argument("--subsample", type=int, default=SUBSAMPLE, help="every n-th photo")
    p = sub.add_parser("judge")
    p.add_argument("--match", default="")
    p.add_argument("--offset", type=int, default=0,
                   help="start at this photo (with --subsample 2: the two halves, 0 and 1)")
    p.add_argument("--write", action="store_true")
    p.add_argument("--cells", action="store_true", help="Veil's plan with different mosaic cell floors")
    p.add_argument("--subsample", type=int, default=SUBSAMPLE, help="every n-th photo (passes cached first)")
    p = sub.add_parser("background")
    p.add_argument("--write", action="store_true")
    p.add_argument("--subsample", type=int, default=SUBSAMPLE, help="every n-th photo (passes cached first)")
    p = sub.add_parser("turns")
    p.add_argument("--write", action="store_true")
    p.add_argument("--thorough", action="store_true",
                   help="the photo default (17 passes) instead of the fast plan; fewer variants")
    p.add_argument("--subsample", type=int, default=SUBSAMPLE, help="every n-th photo")
    p = sub.add_parser("recall")
    p.add_argument("--match", default="")
    p.add_argument("--write", action="store_true")
    p.add_argument("--subsample", type=int, default=SUBSAMPLE, help="every n-th photo (passes cached first)")
    args = parser.parse_args()
    {"passes": cmd_passes, "judge": cmd_judge, "recall": cmd_recall, "turns": cmd_turns,
     "background": cmd_background}[args.cmd](args)


if __name__ == "__main__":
    main()
