"""Shared pieces of the benchmark scripts: data paths, WIDER ground truth, the visibility
criterion, timing, and writing sections of bench/RESULTS.md.

Runs in Veil's venv and in bench/.deface-venv alike (numpy and OpenCV only), so both tools
are judged by the very same code.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.pipeline.boxes import iou_matrix  # noqa: E402 (numpy only: fine in deface's venv too)

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
# The footage: ../shared/eval unless these say otherwise. To rerun the tables on other footage
# (a folder of WIDER-format photos, YouTube Faces sequences, a 720p clip), point VEIL_WIDER_DIR,
# VEIL_YTF_DIR and VEIL_CLIP_720P at it, and VEIL_BENCH_OUT and VEIL_RESULTS elsewhere so that
# its outputs and tables stay apart from these (bench/README.md, "On your own footage").
EVAL_DIR = Path(os.environ.get("VEIL_EVAL_DIR", ROOT.parent / "shared" / "eval"))
OUT_DIR = Path(os.environ.get("VEIL_BENCH_OUT", BENCH_DIR / "out")).resolve()
RESULTS_MD = Path(os.environ.get("VEIL_RESULTS", BENCH_DIR / "RESULTS.md")).resolve()
VEIL_PY = ROOT / ".venv" / "bin" / "python"
DEFACE_VENV = BENCH_DIR / ".deface-venv"
DEFACE_PY = DEFACE_VENV / "bin" / "python"
DEFACE_BIN = DEFACE_VENV / "bin" / "deface"
WIDER_DIR = Path(os.environ.get("VEIL_WIDER_DIR", EVAL_DIR / "stills" / "wider_val")).resolve()
YTF_DIR = Path(os.environ.get("VEIL_YTF_DIR", EVAL_DIR / "video_gt" / "youtube_faces")).resolve()
CLIP_720P = Path(os.environ.get("VEIL_CLIP_720P",
                                EVAL_DIR / "clips" / "multi_person" / "2person.mp4")).resolve()

# Face size buckets by the longer side of the ground-truth box, in pixels.
SIZE_BUCKETS_PX = (("10-20", 10, 20), ("20-50", 20, 50), ("50-100", 50, 100), (">=100", 100, 10**9))

# The visibility criterion (see visible_score): below this correlation a face counts as hidden.
MAX_HIDDEN_CORRELATION = 0.5
DETAIL_SIGMA_PX = 1.5
INNER_FRACTION = 0.8


def size_bucket(size_px: float) -> str | None:
    for name, lo, hi in SIZE_BUCKETS_PX:
        if lo <= size_px < hi:
            return name
    return None


# ---------------------------------------------------------------- WIDER ground truth
@dataclass
class WiderImage:
    rel_path: str  # e.g. "0--Parade/0_Parade_marchingband_1_465.jpg"
    xywh: np.ndarray  # (N, 4) valid faces only
    difficulty: np.ndarray  # (N, 3) bool: in_easy, in_medium, in_hard
    invalid_xywh: np.ndarray  # (M, 4) faces marked invalid (not scored; not false positives)

    @property
    def xyxy(self) -> np.ndarray:
        return np.concatenate([self.xywh[:, :2], self.xywh[:, :2] + self.xywh[:, 2:]], 1).astype(np.float32)

    @property
    def all_xyxy(self) -> np.ndarray:
        both = np.concatenate([self.xywh, self.invalid_xywh])
        return np.concatenate([both[:, :2], both[:, :2] + both[:, 2:]], 1).astype(np.float32)


def wider_gt_file(root: Path = WIDER_DIR) -> Path:
    """The ground truth in WIDER's own format: root/gt.txt, or WIDER's file name for it."""
    for name in ("gt.txt", "wider_face_val_bbx_gt.txt"):
        if (root / name).exists():
            return root / name
    raise SystemExit(f"{root} has no gt.txt (WIDER's ground-truth format) beside images/")


def load_wider(root: Path = WIDER_DIR) -> list[WiderImage]:
    """WIDER val ground truth; faces with invalid=1 are set aside. The easy/medium/hard flags
    come from root/difficulty.txt when there is one (all False otherwise)."""
    diff: dict[tuple[str, int], tuple[bool, bool, bool]] = {}
    lines = (root / "difficulty.txt").read_text().splitlines() if (root / "difficulty.txt").exists() else []
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        path, idx, e, m, h = line.split()
        diff[(path, int(idx))] = (e == "1", m == "1", h == "1")
    lines = wider_gt_file(root).read_text().splitlines()
    images, i = [], 0
    while i < len(lines) and lines[i].strip():
        path, count = lines[i].strip(), int(lines[i + 1])
        rows = lines[i + 2:i + 2 + max(count, 1)]
        i += 2 + max(count, 1)
        valid, flags, invalid = [], [], []
        for face_index, row in enumerate(rows[:count]):
            x, y, w, h, _blur, _expr, _illum, is_invalid, _occl, _pose = map(int, row.split()[:10])
            if is_invalid:
                invalid.append((x, y, w, h))
                continue
            valid.append((x, y, w, h))
            flags.append(diff.get((path, face_index), (False, False, False)))
        images.append(WiderImage(path, np.array(valid, np.float32).reshape(-1, 4),
                                 np.array(flags, bool).reshape(-1, 3),
                                 np.array(invalid, np.float32).reshape(-1, 4)))
    return images


def match_detections(gt_xyxy: np.ndarray, det_xyxy: np.ndarray, det_score: np.ndarray,
                     ignore_xyxy: np.ndarray, min_iou: float = 0.5) -> tuple[np.ndarray, int]:
    """Greedy one-to-one matching, best detection first.

    Returns (found (N,) bool per GT face, false positives). A detection that matches no valid
    face but overlaps an invalid face or a face under 10 px is not counted as a false positive.
    """
    found = np.zeros(len(gt_xyxy), bool)
    if len(det_xyxy) == 0:
        return found, 0
    ious = iou_matrix(det_xyxy, gt_xyxy)
    ign = iou_matrix(det_xyxy, ignore_xyxy) if len(ignore_xyxy) else np.zeros((len(det_xyxy), 0))
    fp = 0
    for d in np.argsort(-det_score):
        cand = np.where(~found & (ious[d] >= min_iou))[0] if len(gt_xyxy) else np.array([], int)
        if len(cand):
            found[cand[np.argmax(ious[d, cand])]] = True
        elif not (ign.shape[1] and ign[d].max() >= min_iou) and not (len(gt_xyxy) and ious[d].max() >= min_iou):
            fp += 1
    return found, fp


# ---------------------------------------------------------------- the visibility criterion
def fine_detail(gray: np.ndarray, sigma_px: float = DETAIL_SIGMA_PX) -> np.ndarray:
    """Image minus its Gaussian blur: the fine detail that makes a face recognisable."""
    g = gray.astype(np.float32)
    return g - cv2.GaussianBlur(g, (0, 0), sigma_px)


def to_gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def inner_box(xyxy: np.ndarray, shape_hw: tuple[int, int], fraction: float = INNER_FRACTION):
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    mx, my = (x2 - x1) * (1 - fraction) / 2, (y2 - y1) * (1 - fraction) / 2
    h, w = shape_hw
    ix1, iy1 = max(0, int(round(x1 + mx))), max(0, int(round(y1 + my)))
    ix2, iy2 = min(w, int(round(x2 - mx))), min(h, int(round(y2 - my)))
    return ix1, iy1, ix2, iy2


def detail_correlation(detail_in: np.ndarray, detail_out: np.ndarray) -> float:
    """Pearson correlation of two detail patches; NaN when the input has no detail to leak."""
    a = detail_in.ravel().astype(np.float64)
    b = detail_out.ravel().astype(np.float64)
    if a.size < 4 or a.std() < 0.5:
        return float("nan")
    a = a - a.mean()
    b = b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def require_same_shape(image_in: np.ndarray, image_out: np.ndarray) -> None:
    """Input and output are compared pixel for pixel: an output of another size (a tool that
    pads or rescales) would be judged against the wrong pixels and look hidden everywhere."""
    if image_in.shape[:2] != image_out.shape[:2]:
        raise ValueError(f"output is {image_out.shape[1]}x{image_out.shape[0]}, "
                         f"input {image_in.shape[1]}x{image_in.shape[0]}: not comparable")


def face_visibility(detail_in: np.ndarray, detail_out: np.ndarray, faces_xyxy: np.ndarray) -> np.ndarray:
    """(N,) correlation of fine detail inside the inner 80% of each face box (NaN = no detail).

    A face is left recognisable when the correlation is >= MAX_HIDDEN_CORRELATION.
    """
    require_same_shape(detail_in, detail_out)
    out = np.full(len(faces_xyxy), np.nan)
    for i, box in enumerate(faces_xyxy):
        x1, y1, x2, y2 = inner_box(box, detail_in.shape[:2])
        if x2 - x1 >= 2 and y2 - y1 >= 2:
            out[i] = detail_correlation(detail_in[y1:y2, x1:x2], detail_out[y1:y2, x1:x2])
    return out


# Over-redaction: textured blocks outside every face that lost their detail.
BLOCK_PX = 16
MIN_TEXTURE_STD = 4.0


def textured_blocks_lost(detail_in: np.ndarray, detail_out: np.ndarray,
                         exclude_xyxy: np.ndarray, block_px: int = BLOCK_PX) -> tuple[int, int]:
    """(textured blocks outside all faces, of which lost their detail: correlation < 0.5).

    Faces are excluded with a margin (the box grown 1.6x) so that the intended padding around
    a face does not count as over-redaction.
    """
    require_same_shape(detail_in, detail_out)
    h, w = detail_in.shape[:2]
    mask = np.zeros((h, w), bool)
    for x1, y1, x2, y2 in exclude_xyxy:
        cx, cy, hw, hh = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) * 0.8, (y2 - y1) * 0.8
        mask[max(0, int(cy - hh)):max(0, int(np.ceil(cy + hh))), max(0, int(cx - hw)):max(0, int(np.ceil(cx + hw)))] = True
    hb, wb = h // block_px, w // block_px
    if hb == 0 or wb == 0:
        return 0, 0

    def blocks(a: np.ndarray) -> np.ndarray:
        a = a[:hb * block_px, :wb * block_px].astype(np.float64)
        return a.reshape(hb, block_px, wb, block_px).transpose(0, 2, 1, 3).reshape(hb, wb, -1)

    a, b = blocks(detail_in), blocks(detail_out)
    excluded = blocks(mask.astype(np.float32)).max(axis=2) > 0
    a = a - a.mean(axis=2, keepdims=True)
    b = b - b.mean(axis=2, keepdims=True)
    is_textured = (np.sqrt((a * a).mean(axis=2)) >= MIN_TEXTURE_STD) & ~excluded
    denom = np.sqrt((a * a).sum(axis=2) * (b * b).sum(axis=2))
    corr = np.where(denom > 0, (a * b).sum(axis=2) / np.maximum(denom, 1e-12), 0.0)
    textured = int(is_textured.sum())
    lost = int((is_textured & (corr < MAX_HIDDEN_CORRELATION)).sum())
    return textured, lost


# ---------------------------------------------------------------- running and timing
def run(cmd: list[str], log: Path | None = None, env: dict | None = None, cwd: Path = ROOT) -> float:
    """Run a command (in cwd), fail loudly, return its wall time in seconds."""
    t0 = time.perf_counter()
    if log:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") if log else open(os.devnull, "w") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = Path(log).read_text()[-2000:] if log else ""
        raise RuntimeError(f"command failed ({proc.returncode}): {shlex.join(map(str, cmd))}\n{tail}")
    return dt


def require_deface() -> None:
    if not DEFACE_BIN.exists():
        sys.exit("deface is not installed: run bash bench/setup_deface.sh")


def veil_cli_available() -> bool:
    return (ROOT / "app" / "cli.py").exists() or (ROOT / "app" / "__main__.py").exists()


def command_line() -> str:
    rel = os.path.relpath(sys.argv[0], ROOT)
    return shlex.join([".venv/bin/python", rel, *sys.argv[1:]])


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section <!-- begin NAME --> ... <!-- end NAME --> in RESULTS.md."""
    text = RESULTS_MD.read_text() if RESULTS_MD.exists() else "# Veil benchmarks\n"
    block = f"<!-- begin {name} -->\n{body.rstrip()}\n<!-- end {name} -->"
    pattern = re.compile(rf"<!-- begin {re.escape(name)} -->.*?<!-- end {re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    RESULTS_MD.write_text(text)


def md_table(header: list[str], rows: list[list]) -> str:
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"
        return str(v)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def ordinal(n: int) -> str:
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10 if n % 100 not in (11, 12, 13) else 0, 'th')}"


def machine_note() -> str:
    return f"{os.cpu_count()} CPU cores, {time.strftime('%Y-%m-%d %H:%M')}"
