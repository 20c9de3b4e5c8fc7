"""Real models on real footage from ../shared/eval (skipped, with the reason, where either is
absent). These are what the engine issue is judged on: every ground-truth face hidden in every
frame, and the rest of the file untouched."""

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from app.pipeline.anonymize import anonymize_video
from app.pipeline.boxes import rotate_boxes_to_original
from bench.common import MAX_HIDDEN_CORRELATION, face_visibility, fine_detail, to_gray
from tests.media import read_video

pytestmark = [pytest.mark.models, pytest.mark.eval, pytest.mark.slow]


def youtube_faces_sequences(root: Path) -> dict[str, list[tuple[Path, np.ndarray]]]:
    """sequence -> [(frame path, gt xyxy)] in frame order, faces marked present only."""
    sequences: dict[str, list[tuple[Path, np.ndarray]]] = {}
    for line in (root / "gt_xywh.csv").read_text().splitlines()[1:]:
        name, frame, x, y, w, h, present = line.split(",")
        path = root / frame.removeprefix("pftracker/input/")
        if present.strip() == "1" and path.is_file():
            xyxy = np.array([float(x), float(y), float(x) + float(w), float(y) + float(h)], np.float32)
            sequences.setdefault(name, []).append((path, xyxy))
    for rows in sequences.values():
        rows.sort(key=lambda r: int(r[0].stem.split(".")[-1]))
    return sequences


def frames_to_clip(rows, path: Path, turns: int = 0) -> Path:
    """The frames as an H.264 clip, each cropped to even sides and turned counter-clockwise by
    ``turns`` quarters (people lying down, upside down)."""
    first = cv2.imread(str(rows[0][0]))
    h, w = first.shape[:2]
    h, w = h - h % 2, w - w % 2
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(25), options={"crf": "16", "preset": "veryfast"})
        stream.width, stream.height = (h, w) if turns % 2 else (w, h)
        stream.pix_fmt = "yuv420p"
        for i, (frame_path, _) in enumerate(rows):
            image = np.ascontiguousarray(np.rot90(cv2.imread(str(frame_path))[:h, :w], turns))
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.mark.parametrize("turns", [0, 1, 2, 3], ids=["upright", "lying-90", "upside-down", "lying-270"])
def test_every_youtube_faces_face_hidden_in_every_frame(shared_eval, centerface, tmp_path, turns):
    """Every sequence, as filmed and turned like a person lying down or upside down: without
    the quarter-turn passes, 45-134 of the 750 face-frames are left visible per turn."""
    sequences = youtube_faces_sequences(shared_eval / "video_gt" / "youtube_faces")
    assert len(sequences) >= 5
    visible_total = 0
    for name, rows in sequences.items():
        clip = frames_to_clip(rows, tmp_path / f"{name}.mp4", turns)
        out = tmp_path / f"{name}-out.mp4"
        anonymize_video(clip, out, detector=centerface)
        before, after = read_video(clip), read_video(out)
        assert len(after.frames) == len(before.frames) == len(rows)
        h, w = before.frames[0].shape[:2]
        original_wh = (h, w) if turns % 2 else (w, h)
        visible = []
        for i, ((_, gt), a, b) in enumerate(zip(rows, before.frames, after.frames)):
            # gt is on the frame as filmed, which is the clip's frame turned back 4 - turns.
            gt = rotate_boxes_to_original(gt[None], (4 - turns) % 4, original_wh)[0]
            corr = face_visibility(fine_detail(to_gray(a)), fine_detail(to_gray(b)), gt[None])[0]
            if corr >= MAX_HIDDEN_CORRELATION:
                visible.append((i, round(float(corr), 2)))
        visible_total += len(visible)
        assert not visible, f"{name}: face visible in frames {visible[:10]}"
    assert visible_total == 0


def test_real_clip_with_audio_kept_intact(shared_eval, centerface, tmp_path):
    clip = shared_eval / "clips" / "single_face" / "wider_repo_test.mp4"
    out = tmp_path / "out.mp4"
    report = anonymize_video(clip, out, detector=centerface)
    before, after = read_video(clip, False), read_video(out, False)
    assert (after.width, after.height) == (before.width, before.height)
    assert after.times_s == before.times_s
    assert after.audio_packets == before.audio_packets and after.audio_packets[0]
    assert "creation_time" in before.container_tags  # the input has private tags...
    assert "creation_time" not in after.container_tags  # ...the output does not
    assert not any("creation_time" in t for t in after.stream_tags)
    assert (after.codec, after.pix_fmt) == ("h264", "yuv420p")
    assert report["tracks"] and all(t["decision"] == "blur" for t in report["tracks"])


def test_raw_h264_stream_from_street_camera(shared_eval, centerface, tmp_path):
    clip = shared_eval / "clips" / "crowds" / "MOT20-08-raw_shorter.h264"
    out = tmp_path / "out.mp4"
    report = anonymize_video(clip, out, detector=centerface)
    with av.open(str(clip)) as c:
        frames_in = sum(1 for _ in c.decode(video=0))
    after = read_video(out, False)
    assert len(after.times_s) == frames_in == report["frame_count"]
    assert np.all(np.diff([float(t) for t in after.times_s]) > 0)


def visible_faces(images, before_after) -> dict[str, list[bool]]:
    """Per WIDER photo, (input, output) from before_after(image), judged like bench/stills.py:
    visible or not, for each valid face of 10-20 px and of 20 px and more."""
    from bench.common import size_bucket

    visible = {"10-20": [], "20+": []}
    for image in images:
        before, after = before_after(image)
        assert after.shape == before.shape
        corr = face_visibility(fine_detail(to_gray(before)), fine_detail(to_gray(after)), image.xyxy)
        for c, size in zip(corr, image.xywh[:, 2:].max(axis=1) if len(image.xywh) else []):
            bucket = size_bucket(size)
            if bucket is not None and not np.isnan(c):
                visible["10-20" if bucket == "10-20" else "20+"].append(c >= MAX_HIDDEN_CORRELATION)
    return visible


def test_wider_photos_faces_hidden(shared_eval, tmp_path):
    """Every 10th WIDER val photo through the photo pipeline (two detectors, several passes):
    judged like bench/stills.py: faces of 20 px and more hidden
    (at most 3% visible here; deface leaves about 6%), and >= 97.5% of faces of 10-20 px (the
    plan without the 2x CenterFace pass left 4 of these 150 visible, the CenterFace-only plan
    before it about 20%; the current one none)."""
    from app.pipeline.anonymize import anonymize_folder
    from bench.common import load_wider

    images = load_wider(shared_eval / "stills" / "wider_val")[::10]
    src = tmp_path / "in"
    for image in images:
        link = src / image.rel_path
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(shared_eval / "stills" / "wider_val" / "images" / image.rel_path)
    anonymize_folder(src, tmp_path / "out")
    visible = visible_faces(images, lambda image: (cv2.imread(str(src / image.rel_path)),
                                                   cv2.imread(str(tmp_path / "out" / image.rel_path))))
    assert len(visible["20+"]) > 50 and len(visible["10-20"]) > 50
    assert np.mean(visible["20+"]) <= 0.03, f"{sum(visible['20+'])} of {len(visible['20+'])} faces >= 20 px visible"
    assert np.mean(visible["10-20"]) <= 0.025, f"{sum(visible['10-20'])} of {len(visible['10-20'])} faces 10-20 px visible"


def test_wider_photos_turned_upside_down_or_sideways_faces_hidden(shared_eval, tmp_path):
    """The same every-10th WIDER val photos, turned half a turn (even ones) or a quarter
    (odd ones), as a scan or a photo that lost its orientation tag would come: faces stay
    hidden. Without the quarter-turn passes about a third of the faces >= 20 px stayed visible
    (bench/RESULTS.md, stills-turns)."""
    from app.pipeline.anonymize import anonymize_folder
    from bench.common import load_wider

    images = load_wider(shared_eval / "stills" / "wider_val")[::10]
    src = tmp_path / "in"
    turns = {}
    for i, image in enumerate(images):
        turns[image.rel_path] = 2 if i % 2 == 0 else 1
        upright = cv2.imread(str(shared_eval / "stills" / "wider_val" / "images" / image.rel_path))
        path = src / image.rel_path
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), np.ascontiguousarray(np.rot90(upright, turns[image.rel_path])),
                    [cv2.IMWRITE_JPEG_QUALITY, 95])
    anonymize_folder(src, tmp_path / "out")

    def upright(image):  # judged upright: input and output turned back (quarter turns lose nothing)
        k = turns[image.rel_path]
        return tuple(np.ascontiguousarray(np.rot90(cv2.imread(str(root / image.rel_path)), -k))
                     for root in (src, tmp_path / "out"))

    visible = visible_faces(images, upright)
    assert len(visible["20+"]) > 50 and len(visible["10-20"]) > 50
    assert np.mean(visible["20+"]) <= 0.03, f"{sum(visible['20+'])} of {len(visible['20+'])} faces >= 20 px visible"
    assert np.mean(visible["10-20"]) <= 0.05, f"{sum(visible['10-20'])} of {len(visible['10-20'])} faces 10-20 px visible"
