"""Identity benchmark: FaceNet speed, verification accuracy and threshold, YouTube Faces.

    .venv/bin/python -m bench.identity [--grid] [--out FILE]  (results: bench/RESULTS.md, section "identity")

Reads ../shared/eval (never copied into the repository):
- identity/deepface_pairs: both pair files (master.csv, face-recognition-pivot.csv);
- video_gt/youtube_faces: a reference crop from the first frames of each sequence against
  pseudo-tracks (25 consecutive frames) of every sequence's later frames.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.pipeline.align import TEMPLATE_CENTRE_Y, TEMPLATE_SCALE, align_face  # noqa: E402
from app.pipeline.decide import (  # noqa: E402
    DEFAULT_AMBIGUITY_MARGIN,
    DEFAULT_MIN_SIMILARITY,
    Policy,
    decide,
)
from app.pipeline.detect import CenterFace, detect_multiscale  # noqa: E402
from app.pipeline.embed import FaceNetEmbedder  # noqa: E402
from app.pipeline.errors import InputError  # noqa: E402
from app.pipeline.identity import (  # noqa: E402
    SampleCollector,
    embed_samples,
    pick_reference_face,
    read_image_rgb,
)
from app.pipeline.types import Track  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
PAIRS_DIR = EVAL / "identity" / "deepface_pairs" / "tests" / "unit" / "dataset"
PAIR_FILES = ("master.csv", "face-recognition-pivot.csv")
YTF_DIR = EVAL / "video_gt" / "youtube_faces"


def read_pairs(name: str) -> list[tuple[str, str, bool]]:
    with open(PAIRS_DIR / name, newline="") as f:
        rows = list(csv.DictReader(f))
    decision_key = "Decision" if "Decision" in rows[0] else "decision"
    return [(Path(r["file_x"]).name, Path(r["file_y"]).name, r[decision_key].strip() == "Yes")
            for r in rows]


def detect_photo(detector, image_rgb):
    long_side = max(image_rgb.shape[:2])
    sides = tuple(sorted({min(s, long_side) for s in (640, 1280)}))
    return detect_multiscale(detector, image_rgb, sides)


def photo_faces(detector, names):
    """name -> (image, landmarks of the chosen face, note)."""
    out = {}
    for name in sorted(names):
        image = read_image_rgb(PAIRS_DIR / name)
        faces = detect_photo(detector, image)
        try:
            index, note = pick_reference_face(faces, name), ""
        except InputError as error:
            if len(faces) == 0:
                out[name] = (image, None, str(error))
                continue
            areas = (faces.xyxy[:, 2] - faces.xyxy[:, 0]) * (faces.xyxy[:, 3] - faces.xyxy[:, 1])
            index, note = int(np.argmax(areas)), f"largest used: {error}"
        out[name] = (image, faces.landmarks[index], note)
    return out


def best_threshold(sims: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    candidates = np.unique(np.round(sims, 3))
    accs = [((sims >= t) == same).mean() for t in candidates]
    i = int(np.argmax(accs))
    return float(candidates[i]), float(accs[i])


def verification(embedder, photos, scale, centre_y, pairs_by_file):
    names = [n for n, (_, lm, _) in photos.items() if lm is not None]
    crops = np.stack([align_face(photos[n][0], photos[n][1], template_scale=scale,
                                 template_centre_y=centre_y) for n in names])
    emb = dict(zip(names, embedder.embed(crops)))
    result = {}
    for file, pairs in pairs_by_file.items():
        usable = [(a, b, s) for a, b, s in pairs if a in emb and b in emb]
        sims = np.array([float(emb[a] @ emb[b]) for a, b, _ in usable])
        same = np.array([s for _, _, s in usable])
        result[file] = (sims, same, len(pairs) - len(usable))
    return result


def timing(lines, n_faces=64):
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 255, (n_faces, 160, 160, 3), dtype=np.uint8)
    threads = min(os.cpu_count() or 1, 4)
    lines.append(f"\n## FaceNet speed ({threads} threads, {os.cpu_count()} cores, {n_faces} faces)\n")
    lines.append("| batch size | graph | ms per face (best of 3) |\n|---|---|---|")
    for batch_size in (1, 4, 16, 32):
        embedder = FaceNetEmbedder(threads=threads, batch_size=batch_size)
        embedder.embed(crops[:batch_size])
        best = min(_timed(embedder, crops) for _ in range(3))
        graph = "as frozen" if batch_size == 1 else "batch dim patched in memory"
        lines.append(f"| {batch_size} | {graph} | {best * 1000 / n_faces:.1f} |")
        print(lines[-1], flush=True)
        embedder.close()


def _timed(embedder, crops):
    t = time.perf_counter()
    embedder.embed(crops)
    return time.perf_counter() - t


def ytf_sequences():
    rows = {}
    with open(YTF_DIR / "gt_xywh.csv", newline="") as f:
        for r in csv.DictReader(f):
            if r["frame_present"] != "1":
                continue
            path = YTF_DIR / Path(r["frame"]).relative_to("pftracker/input")
            if path.is_file():
                box = [float(r["x1"]), float(r["y1"]), float(r["w"]), float(r["h"])]
                rows.setdefault(r["sequence"], []).append((path, box))
    return rows


def ytf(detector, embedder, lines, min_similarity, margin, track_len=25, reference_frames=20):
    """Reference: best crop in the first frames of a sequence. Pseudo-tracks: later frames in
    chunks of track_len, SAMPLES_PER_TRACK crops each, from every sequence."""
    sequences = ytf_sequences()
    reference_crops, tracks, samples_all, owner = {}, [], [], {}
    next_id = 0
    for seq, frames in sorted(sequences.items()):
        ref_collector = SampleCollector(per_track=1)
        collector = SampleCollector()
        for i, (path, (x, y, w, h)) in enumerate(frames):
            image = read_image_rgb(path)
            faces = detector.detect(image, 640)
            if len(faces) == 0:
                continue
            # The detection closest to the ground-truth centre is the sequence's person.
            centres = (faces.xyxy[:, :2] + faces.xyxy[:, 2:]) / 2
            d = np.hypot(*(centres - [x + w / 2, y + h / 2]).T)
            k = int(np.argmin(d))
            if d[k] > max(w, h) / 2:
                continue
            one = faces[k]
            if i < reference_frames:
                ref_collector(i, image, one, np.array([0]))
            else:
                chunk = (i - reference_frames) // track_len
                collector(i, image, one, np.array([next_id + chunk]))
        ref = ref_collector.samples()
        if not ref:
            print(f"{seq}: no reference crop", flush=True)
            continue
        reference_crops[seq] = ref[0].crop_rgb
        samples = collector.samples()
        for tid in sorted({s.track_id for s in samples}):
            owner[tid] = seq
            tracks.append(Track(tid, np.array([tid]), np.zeros((1, 4), np.float32),
                                np.ones(1, np.float32), np.ones(1, bool)))
        samples_all += samples
        next_id += 1000
    seqs = sorted(reference_crops)
    ref_emb = dict(zip(seqs, embedder.embed(np.stack([reference_crops[s] for s in seqs]))))
    track_emb = embed_samples(samples_all, embedder)
    lines.append(f"\n## YouTube Faces ({len(seqs)} sequences, {len(tracks)} pseudo-tracks of "
                 f"{track_len} frames, up to 5 crops each)\n")
    lines.append(f"Reference: best-quality crop among each sequence's first {reference_frames} "
                 "frames (not reused in the tracks). Thresholds: min_similarity "
                 f"{min_similarity}, ambiguity margin {margin}.\n")
    lines.append("| reference | mode | own tracks blurred | own ambiguous | other tracks blurred "
                 "| others ambiguous | own median sim (min) | others max sim |")
    lines.append("|---|---|---|---|---|---|---|---|")
    all_ok = True
    for seq in seqs:
        own = [t for t in tracks if owner[t.track_id] == seq]
        other = [t for t in tracks if owner[t.track_id] != seq]
        for policy in (Policy.ONLY, Policy.KEEP):
            dec = {d.track_id: d for d in decide(tracks, policy, track_emb, [ref_emb[seq][None]],
                                                 min_similarity, margin)}
            own_blur = sum(dec[t.track_id].should_blur for t in own)
            other_blur = sum(dec[t.track_id].should_blur for t in other)
            own_amb = sum("unsure" in dec[t.track_id].reason for t in own)
            other_amb = sum("unsure" in dec[t.track_id].reason for t in other)
            own_sims = [dec[t.track_id].similarity for t in own]
            other_sims = [dec[t.track_id].similarity for t in other]
            lines.append(f"| {seq} | {policy.value} | {own_blur}/{len(own)} | {own_amb} | "
                         f"{other_blur}/{len(other)} | {other_amb} | "
                         f"{np.median(own_sims):.2f} ({min(own_sims):.2f}) | {max(other_sims):.2f} |")
            ok = (own_blur == len(own) and other_blur == 0) if policy is Policy.ONLY else (
                own_blur == 0 and other_blur == len(other))
            all_ok &= ok
            print(lines[-1], flush=True)
    # Aggregation choice: per-crop best-of-references, then median vs mean vs max vs min.
    lines.append("\nTrack aggregation (same person vs different person separation, all "
                 "reference x track pairs):\n")
    lines.append("| aggregate | min same | max different | gap |\n|---|---|---|---|")
    for name, fn in (("median", np.median), ("mean", np.mean), ("max", np.max), ("min", np.min)):
        same, diff = [], []
        for seq in seqs:
            for t in tracks:
                s = float(fn(track_emb[t.track_id] @ ref_emb[seq]))
                (same if owner[t.track_id] == seq else diff).append(s)
        lines.append(f"| {name} | {min(same):.3f} | {max(diff):.3f} | {min(same) - max(diff):.3f} |")
    lines.append(f"\nEvery own track blurred with only and kept with keep, every other track "
                 f"the reverse: **{'yes' if all_ok else 'no'}**.")
    return all_ok


def hamilton(detector, embedder, lines, min_similarity, margin, thumbs_dir=None):
    """Per-track decisions on short_hamilton_clip.mp4 with lin-manuel-miranda.png."""
    from app.pipeline.anonymize import analyse_video
    from app.pipeline.identity import group_tracks, load_references
    from app.pipeline.types import AnonymizeOptions

    folder = EVAL / "identity" / "face_recognition_examples" / "examples"
    clip, photo = folder / "short_hamilton_clip.mp4", folder / "lin-manuel-miranda.png"
    if not clip.is_file():
        return
    collector = SampleCollector()
    t0 = time.perf_counter()
    analysis = analyse_video(clip, AnonymizeOptions(), detector=detector, on_faces=collector)
    t_analyse = time.perf_counter() - t0
    samples = collector.samples()
    t0 = time.perf_counter()
    track_emb = embed_samples(samples, embedder)
    t_embed = time.perf_counter() - t0
    refs = load_references([photo], detector, embedder)
    person_of = group_tracks(track_emb, analysis.tracks)
    lines.append("\n## short_hamilton_clip.mp4 with lin-manuel-miranda.png\n")
    lines.append(f"{analysis.frame_count} frames, {len(analysis.tracks)} tracks, {len(samples)} "
                 f"crops kept (analysis {t_analyse:.1f} s including sample collection; embedding "
                 f"all crops {t_embed * 1000:.0f} ms). Thresholds {min_similarity} +- {margin}.\n")
    lines.append("| track | frames | detected | crops | person | similarity | only: blur | keep: blur "
                 "| only reason |\n|---|---|---|---|---|---|---|---|---|")
    only = decide(analysis.tracks, Policy.ONLY, track_emb, refs, min_similarity, margin, person_of)
    keep = decide(analysis.tracks, Policy.KEEP, track_emb, refs, min_similarity, margin, person_of)
    for track, o, k in zip(analysis.tracks, only, keep):
        sim = "-" if o.similarity is None else f"{o.similarity:.2f}"
        n = len(track_emb.get(track.track_id, ()))
        lines.append(f"| {track.track_id} | {track.first_frame}-{track.last_frame} | "
                     f"{track.detected_frames} | {n} | {o.person_id} | {sim} | {o.should_blur} | "
                     f"{k.should_blur} | {o.reason} |")
    if thumbs_dir is not None:
        import cv2

        thumbs_dir.mkdir(parents=True, exist_ok=True)
        for s in samples:
            cv2.imwrite(str(thumbs_dir / f"t{s.track_id}_f{s.frame_index}.png"),
                        cv2.cvtColor(s.crop_rgb, cv2.COLOR_RGB2BGR))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", action="store_true", help="try several alignment templates")
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--no-ytf", action="store_true")
    parser.add_argument("--no-pairs", action="store_true")
    parser.add_argument("--hamilton", action="store_true", help="run the Hamilton clip too")
    parser.add_argument("--thumbs", type=Path, default=None, help="write Hamilton crops here")
    parser.add_argument("--out", type=Path, default=None, help="write the markdown section here")
    args = parser.parse_args(argv)
    if not PAIRS_DIR.is_dir():
        print(f"{PAIRS_DIR} is absent; nothing to measure.")
        return 1
    lines = ["# Identity (bench/identity.py)", "",
             "Command: `.venv/bin/python -m bench.identity --grid --out FILE` (the numbers are in "
             "bench/RESULTS.md, section identity)",
             f"Machine: {os.cpu_count()} CPU cores, TensorFlow CPU. Similarity = cosine of "
             "L2-normalised FaceNet embeddings; crops aligned on CenterFace's 5 landmarks. "
             f"Load average at start: {os.getloadavg()[0]:.1f} (shared machine)."]
    if not args.no_timing:
        timing(lines)
    detector = CenterFace(min_score=0.3)
    embedder = FaceNetEmbedder()
    if not args.no_pairs:
        pairs_by_file = {f: read_pairs(f) for f in PAIR_FILES}
        names = {n for pairs in pairs_by_file.values() for a, b, _ in pairs for n in (a, b)}
        photos = photo_faces(detector, names)
        notes = [f"{n}: {note}" for n, (_, _, note) in sorted(photos.items()) if note]
        grid = [(TEMPLATE_SCALE, TEMPLATE_CENTRE_Y)]
        if args.grid:
            grid += [(s, c) for s in (0.8, 0.85, 0.9, 0.95, 1.0) for c in (0.5, 0.55)
                     if (s, c) != grid[0]]
        lines.append(f"\n## Verification on deepface_pairs ({len(photos)} photos)\n")
        lines.append("Accuracy at the shipped threshold min_similarity = "
                     f"{DEFAULT_MIN_SIMILARITY} (same person iff similarity >= it), and the best "
                     "threshold per file / both files for reference.\n")
        lines.append("| template scale | centre y | file | pairs | acc @ shipped | best thr | best acc "
                     "| both files: best thr, acc | 2nd pct same / 98th pct different |")
        lines.append("|---|---|---|---|---|---|---|---|---|")
        shipped = None
        for scale, centre_y in grid:
            result = verification(embedder, photos, scale, centre_y, pairs_by_file)
            all_sims = np.concatenate([r[0] for r in result.values()])
            all_same = np.concatenate([r[1] for r in result.values()])
            both_t, both_acc = best_threshold(all_sims, all_same)
            spread = (f"{np.percentile(all_sims[all_same], 2):.3f} / "
                      f"{np.percentile(all_sims[~all_same], 98):.3f}")
            for file, (sims, same, skipped) in result.items():
                acc = ((sims >= DEFAULT_MIN_SIMILARITY) == same).mean()
                t, best = best_threshold(sims, same)
                lines.append(f"| {scale} | {centre_y} | {file} | {len(sims)} (+{skipped} skipped) | "
                             f"{acc:.3f} | {t:.3f} | {best:.3f} | {both_t:.3f}, {both_acc:.3f} | {spread} |")
                print(lines[-1], flush=True)
            if shipped is None:
                shipped = (all_sims, all_same)
        sims, same = shipped
        lines.append("\nShipped template: similarity distribution (both files together):\n")
        lines.append(f"- same person: min {sims[same].min():.3f}, 5th pct "
                     f"{np.percentile(sims[same], 5):.3f}, median {np.median(sims[same]):.3f}")
        lines.append(f"- different: max {sims[~same].max():.3f}, 95th pct "
                     f"{np.percentile(sims[~same], 95):.3f}, median {np.median(sims[~same]):.3f}")
        lo = DEFAULT_MIN_SIMILARITY - DEFAULT_AMBIGUITY_MARGIN
        hi = DEFAULT_MIN_SIMILARITY + DEFAULT_AMBIGUITY_MARGIN
        band = (sims >= lo) & (sims < hi)
        confident = ~band
        lines.append(f"- ambiguity band [{lo:.2f}, {hi:.2f}): {band.sum()} of {len(sims)} pairs "
                     f"({band.mean():.1%}); accuracy on the pairs outside it: "
                     f"{((sims[confident] >= DEFAULT_MIN_SIMILARITY) == same[confident]).mean():.3f}")
        if notes:
            lines.append("\nPhoto notes: " + "; ".join(notes))
    if not args.no_ytf and YTF_DIR.is_dir():
        ytf(detector, embedder, lines, DEFAULT_MIN_SIMILARITY, DEFAULT_AMBIGUITY_MARGIN)
    if args.hamilton:
        hamilton(detector, embedder, lines, DEFAULT_MIN_SIMILARITY, DEFAULT_AMBIGUITY_MARGIN,
                 args.thumbs)
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
