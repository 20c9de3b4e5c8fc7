"""deface 1.5.0 on the WIDER val photos, exactly as its CLI treats an image, in one process.

Runs in bench/.deface-venv (not Veil's venv). The CLI writes every input of a folder to the
single -o path, so this runs its own per-image code path (deface.deface.image_detect's lines:
imread, CenterFace at full resolution, anonymize_frame, imsave) and also keeps the raw
detections for the detector-level table.

    bench/.deface-venv/bin/python bench/deface_stills.py [--thresh 0.2] [--scale WxH] OUT_DIR
        [--subsample N] [--turns K]

--turns K turns each photo K quarter turns counter-clockwise first (np.rot90), as
``stills_plans.py turns`` does for Veil; the outputs stay turned.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import imageio
import imageio.v2 as iio
import numpy as np
from deface.centerface import CenterFace
from deface.deface import anonymize_frame

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import WIDER_DIR, load_wider  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--thresh", type=float, default=0.2)  # deface's default
    parser.add_argument("--scale", default=None)
    parser.add_argument("--subsample", type=int, default=1, help="every n-th photo")
    parser.add_argument("--turns", type=int, default=0, help="quarter turns (counter-clockwise) first")
    args = parser.parse_args()
    in_shape = tuple(int(v) for v in args.scale.split("x")) if args.scale else None
    centerface = CenterFace(in_shape=in_shape, backend="auto")
    detections = {}
    t0 = time.perf_counter()
    for image in load_wider()[::args.subsample]:
        src = WIDER_DIR / "images" / image.rel_path
        dst = args.out_dir / image.rel_path
        dst.parent.mkdir(parents=True, exist_ok=True)
        frame = np.ascontiguousarray(np.rot90(iio.imread(src), args.turns))
        dets, _ = centerface(frame, threshold=args.thresh)
        detections[image.rel_path] = np.asarray(dets, float).round(2).tolist()
        anonymize_frame(dets, frame, mask_scale=1.3, replacewith="blur", ellipse=True,
                        draw_scores=False, replaceimg=None, mosaicsize=20)
        imageio.imsave(dst, frame)
    elapsed = time.perf_counter() - t0
    (args.out_dir / "detections.json").write_text(json.dumps(
        {"elapsed_s": elapsed, "thresh": args.thresh, "scale": args.scale, "detections": detections}))
    print(f"{len(detections)} images in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
