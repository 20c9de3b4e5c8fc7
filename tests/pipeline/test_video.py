"""End to end through both passes with a scripted detector: what a user of the output file
would notice (frames, timestamps, size, audio bytes, tags, which pixels changed)."""

from fractions import Fraction

import av
import numpy as np
import pytest

from app.pipeline.anonymize import analyse_and_decide, anonymize_video, render_video
from app.pipeline.encode import temporary_path
from app.pipeline.errors import Cancelled, InputError, ProcessingError
from app.pipeline.types import (AnonymizeOptions, DetectOptions, RedactOptions, RedactShape,
                                TrackOptions)
from tests.media import Square, make_video, read_video

SQUARE = Square(30, 20, 40, vx=3, vy=1)
# Scripted detectors answer call k with the square on frame k: detect on every frame, and no
# quarter-turn passes (they would be calls too; tests/pipeline/test_turned_video.py has them).
BOX_ONLY = AnonymizeOptions(detect=DetectOptions(detect_every_n_frames=1, turn_probe_every_n_frames=0),
                            track=TrackOptions(box_scale=1.0, pad_s=0.0),
                            redact=RedactOptions(shape=RedactShape.BOX))


def square_detector(scripted_detector, square=SQUARE):
    return scripted_detector(boxes_for_call=lambda i: [square.xyxy(i)])


def run(tmp_path, scripted_detector, options=BOX_ONLY, square=SQUARE, **video):
    source = make_video(tmp_path / video.pop("name", "in.mp4"), squares=[square], **video)
    out = tmp_path / "out.mp4"
    report = anonymize_video(source, out, options, detector=square_detector(scripted_detector, square))
    return source, out, report


@pytest.mark.parametrize("rate", [Fraction(30), Fraction(30000, 1001), Fraction(25)])
def test_frame_count_and_timestamps_kept(tmp_path, scripted_detector, rate):
    source, out, report = run(tmp_path, scripted_detector, rate=rate, frames=20)
    before, after = read_video(source, False), read_video(out, False)
    assert len(after.times_s) == len(before.times_s) == 20 == report["frame_count"]
    assert after.times_s == before.times_s


def test_variable_frame_rate_timestamps_kept(tmp_path, scripted_detector):
    pts = [0, 300, 400, 1500, 1600, 1700, 4000, 4033, 5000, 9000]
    source, out, _ = run(tmp_path, scripted_detector, pts=pts, time_base=Fraction(1, 10000),
                         frames=len(pts))
    before, after = read_video(source, False), read_video(out, False)
    assert before.times_s == [Fraction(p, 10000) for p in pts]
    assert after.times_s == before.times_s


def test_audio_packets_copied_bit_for_bit(tmp_path, scripted_detector):
    source, out, _ = run(tmp_path, scripted_detector, frames=30)
    before, after = read_video(source, False), read_video(out, False)
    assert after.audio_codecs == ["aac"]
    assert len(after.audio_packets[0]) > 10
    assert after.audio_packets == before.audio_packets


def test_audio_mp4_cannot_hold_becomes_aac(tmp_path, scripted_detector):
    source, out, _ = run(tmp_path, scripted_detector, name="in.mkv", audio="pcm_s16le", frames=30)
    after = read_video(out, False)
    assert after.audio_codecs == ["aac"]
    with av.open(str(out)) as c:
        duration_s = float(c.streams.audio[0].duration * c.streams.audio[0].time_base)
    assert duration_s == pytest.approx(1.0, abs=0.1)


def test_no_audio_stays_silent(tmp_path, scripted_detector):
    _, out, _ = run(tmp_path, scripted_detector, audio=None)
    assert read_video(out, False).audio_codecs == []


def test_output_is_browser_playable_h264_with_index_first(tmp_path, scripted_detector):
    _, out, _ = run(tmp_path, scripted_detector)
    after = read_video(out, False)
    assert (after.codec, after.pix_fmt) == ("h264", "yuv420p")
    data = out.read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")


def test_private_metadata_removed(tmp_path, scripted_detector):
    tags = {"location": "+48.8584+002.2945/", "com.apple.quicktime.make": "Apple",
            "make": "Apple", "model": "iPhone 15", "creation_time": "2024-05-01T10:00:00.000000Z",
            "title": "Witness 3", "comment": "near the station"}
    _, out, _ = run(tmp_path, scripted_detector, metadata=tags)
    after = read_video(out, False)
    found = {**after.container_tags, **{k: v for t in after.stream_tags for k, v in t.items()}}
    assert not set(found) & set(tags)
    assert not any("48.85" in str(v) or "Apple" in str(v) for v in found.values())


def test_pixels_inside_face_hidden_outside_kept(tmp_path, scripted_detector):
    source, out, _ = run(tmp_path, scripted_detector, frames=10)
    before, after = read_video(source), read_video(out)
    for i, (a, b) in enumerate(zip(before.frames, after.frames)):
        x1, y1, x2, y2 = (int(v) for v in SQUARE.xyxy(i))
        inside = np.abs(a[y1 + 2:y2 - 2, x1 + 2:x2 - 2].astype(int) - b[y1 + 2:y2 - 2, x1 + 2:x2 - 2]).mean()
        outside = np.abs(a[y2 + 8:, :].astype(int) - b[y2 + 8:, :]).mean()
        assert inside > 30, f"frame {i}: face not hidden"
        assert outside < 3, f"frame {i}: background changed"


def test_picture_without_faces_keeps_its_detail(tmp_path, scripted_detector):
    """Re-encoding costs little: fine random texture (the hardest to encode) comes back at
    >= 40 dB luma PSNR (41.9 with Veil's x264 settings; crf 23 would give 37, crf 28 36)."""
    squares = [Square(40, 30, 160, vx=2, vy=1), Square(220, 100, 80, vx=-1)]
    source = make_video(tmp_path / "in.mp4", width=320, height=240, frames=20, squares=squares)
    out = tmp_path / "out.mp4"
    anonymize_video(source, out, BOX_ONLY, detector=scripted_detector(boxes_for_call=lambda k: []))

    def luma(path):
        with av.open(str(path)) as container:
            return np.stack([f.to_ndarray(format="gray").astype(np.float64) for f in container.decode(video=0)])

    before, after = luma(source), luma(out)
    assert before.shape == after.shape
    psnr_db = 10 * np.log10(255.0 ** 2 / np.mean((before - after) ** 2))
    assert psnr_db >= 40, f"the re-encode lost detail: {psnr_db:.1f} dB"


def test_frames_between_detections_are_hidden(tmp_path, scripted_detector):
    """The detector runs on frames 0, 3, 6...; tracks cover the frames between, and the
    padding covers the frames after the last detection."""
    options = AnonymizeOptions(detect=DetectOptions(detect_every_n_frames=3, turn_probe_every_n_frames=0),
                               track=TrackOptions(box_scale=1.0, pad_s=0.0),
                               redact=RedactOptions(shape=RedactShape.BOX))
    fast = Square(10, 20, 40, vx=6, vy=1)
    source = make_video(tmp_path / "in.mp4", squares=[fast], frames=14)
    out = tmp_path / "out.mp4"
    detector = scripted_detector(boxes_for_call=lambda k: [fast.xyxy(3 * k)])
    report = anonymize_video(source, out, options, detector=detector)
    assert detector.calls == 5 and report["detected_frames"] == 5
    before, after = read_video(source), read_video(out)
    for i, (a, b) in enumerate(zip(before.frames, after.frames)):
        x1, y1, x2, y2 = (int(v) for v in fast.xyxy(i))
        inside = np.abs(a[y1 + 2:y2 - 2, x1 + 2:x2 - 2].astype(int) - b[y1 + 2:y2 - 2, x1 + 2:x2 - 2]).mean()
        assert inside > 30, f"frame {i}: face not hidden"


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_phone_video_keeps_displayed_orientation(tmp_path, scripted_detector, rotation):
    source = make_video(tmp_path / "in.mp4", width=160, height=96, rotation_deg=rotation,
                        squares=[SQUARE])
    with av.open(str(source)) as c:
        first = next(c.decode(video=0))
        shown = np.rot90(first.to_ndarray(format="rgb24"), rotation // 90)
    out = tmp_path / "out.mp4"
    detector = scripted_detector(boxes_for_call=lambda i: [])
    anonymize_video(source, out, BOX_ONLY, detector=detector)
    assert detector.shapes[0][:2] == shown.shape[:2]  # the detector sees faces upright
    after = read_video(out)
    assert (after.width, after.height) == (shown.shape[1], shown.shape[0])
    assert np.abs(after.frames[0].astype(int) - shown).mean() < 3
    with av.open(str(out)) as c:
        assert not next(c.decode(video=0)).rotation


def test_odd_size_is_padded_by_one_pixel_and_content_kept(tmp_path, scripted_detector):
    # H.264 4:2:0 can only code even sizes: the extra row/column repeats the edge.
    source = make_video(tmp_path / "in.mkv", width=151, height=113, codec="ffv1", pix_fmt="yuv444p",
                        squares=[SQUARE], audio=None)
    out = tmp_path / "out.mp4"
    anonymize_video(source, out, BOX_ONLY, detector=scripted_detector(boxes_for_call=lambda i: []))
    before, after = read_video(source), read_video(out)
    assert (after.width, after.height) == (152, 114)
    assert len(after.frames) == len(before.frames)
    # (4:4:4 in, 4:2:0 out: chroma detail is averaged, hence the looser bound)
    assert np.abs(after.frames[0][:113, :151].astype(int) - before.frames[0]).mean() < 6


@pytest.mark.parametrize(
    ("name", "codec", "audio", "fmt"),
    [("in.mkv", "libx264", "opus", None), ("in.webm", "libvpx-vp9", "libopus", None),
     ("in.avi", "mpeg4", "libmp3lame", None), ("in.mov", "libx264", "aac", None),
     ("in.h264", "libx264", None, "h264"), ("in.hevc", "libx265", None, "hevc")],
)
def test_containers_and_codecs(tmp_path, scripted_detector, name, codec, audio, fmt):
    source = make_video(tmp_path / name, codec=codec, audio=audio, container_format=fmt,
                        squares=[SQUARE], frames=12)
    out = tmp_path / "out.mp4"
    anonymize_video(source, out, BOX_ONLY, detector=square_detector(scripted_detector))
    before, after = read_video(source, False), read_video(out, False)
    assert len(after.times_s) == len(before.times_s) == 12
    if fmt is None:
        assert after.times_s == before.times_s
    else:  # raw streams carry no timestamps: frames are spaced evenly
        assert np.allclose(np.diff([float(t) for t in after.times_s]), 1 / 25, atol=1e-3)
    assert len(after.audio_codecs) == (1 if audio else 0)


def test_failure_midway_leaves_no_output(tmp_path, scripted_detector):
    source = make_video(tmp_path / "in.mp4", frames=10)
    out = tmp_path / "out.mp4"

    def boom(i):
        if i == 2:
            raise RuntimeError("detector crashed")
        return []

    with pytest.raises(RuntimeError):
        anonymize_video(source, out, detector=scripted_detector(boxes_for_call=boom))
    assert not out.exists() and not temporary_path(out).exists()


@pytest.mark.parametrize("frames", [8, 14])
def test_video_changed_after_review_is_not_rendered(tmp_path, scripted_detector, frames):
    """The review step renders later: if the file now decodes to other frames (fewer, or more
    and differently timed), no frame is written with boxes meant for another."""
    source = make_video(tmp_path / "in.mp4", frames=10, squares=[SQUARE])
    analysis, decisions = analyse_and_decide(source, BOX_ONLY, detector=square_detector(scripted_detector))
    make_video(source, frames=frames, rate=Fraction(25), squares=[SQUARE])
    out = tmp_path / "out.mp4"
    with pytest.raises(ProcessingError, match="nothing was written"):
        render_video(source, out, analysis, decisions, BOX_ONLY)
    assert not out.exists() and not temporary_path(out).exists()


def test_cancel_stops_and_leaves_no_output(tmp_path, scripted_detector):
    source = make_video(tmp_path / "in.mp4", frames=10)
    out = tmp_path / "out.mp4"
    with pytest.raises(Cancelled):
        anonymize_video(source, out, detector=scripted_detector(boxes_for_call=lambda i: []),
                        progress=lambda p: None, should_cancel=lambda: True)
    assert not out.exists() and not temporary_path(out).exists()


def test_not_a_video_is_an_input_error(tmp_path, scripted_detector):
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    with pytest.raises(InputError, match="not a video"):
        anonymize_video(bad, tmp_path / "out.mp4", detector=scripted_detector(boxes_for_call=lambda i: []))


def test_report_lists_every_track_with_per_frame_boxes(tmp_path, scripted_detector):
    _, out, report = run(tmp_path, scripted_detector, frames=10)
    (track,) = report["tracks"]
    assert (track["first_frame"], track["last_frame"]) == (0, 9)
    assert len(track["boxes"]) == 10 and track["decision"] == "blur"
    assert report["output"]["sha256"] and report["input"]["sha256"]
    assert report["video"]["width"] == 160


# Under the default min_score (0.3), over its weak floor (2/3 of it: 0.2), and under that floor.
WEAK_SCORE, UNDER_FLOOR_SCORE = 0.25, 0.15


@pytest.mark.parametrize("seen_on_calls, score, hidden", [
    (range(10), WEAK_SCORE, True),          # a weak face seen on every detection frame
    ((4, 5), WEAK_SCORE, True),             # ... on two of them
    ((4,), WEAK_SCORE, False),              # ... on one: most often a shirt, a hand, a sign
    ((4,), 0.35, True),                     # a sure face, seen once
    (range(10), UNDER_FLOOR_SCORE, False),  # under the floor: never a face
])
def test_weak_faces_hidden_when_seen_again(tmp_path, scripted_detector, seen_on_calls, score, hidden):
    source = make_video(tmp_path / "in.mp4", squares=[SQUARE], frames=10)
    out = tmp_path / "out.mp4"
    detector = scripted_detector(boxes_for_call=lambda k: [SQUARE.xyxy(k)] if k in seen_on_calls else [],
                                 score_for_call=lambda k: score)
    report = anonymize_video(source, out, BOX_ONLY, detector=detector)
    before, after = read_video(source), read_video(out)
    for i in seen_on_calls:
        x1, y1, x2, y2 = (int(v) for v in SQUARE.xyxy(i))
        inside = np.abs(before.frames[i][y1 + 2:y2 - 2, x1 + 2:x2 - 2].astype(int)
                        - after.frames[i][y1 + 2:y2 - 2, x1 + 2:x2 - 2]).mean()
        assert (inside > 30) == hidden, f"frame {i}: hidden {inside > 30}, expected {hidden}"
    assert len(report["tracks"]) == int(hidden)


def test_height_whose_chroma_rows_are_odd(tmp_path, scripted_detector):
    # 118 rows: 59 chroma rows, which PyAV packs without aligning them to luma rows.
    source, out, _ = run(tmp_path, scripted_detector, height=118, frames=6)
    before, after = read_video(source), read_video(out)
    assert (after.width, after.height) == (160, 118) and len(after.frames) == 6
    x1, y1, x2, y2 = (int(v) for v in SQUARE.xyxy(3))
    assert np.abs(before.frames[3][y1 + 2:y2 - 2, x1 + 2:x2 - 2].astype(int)
                  - after.frames[3][y1 + 2:y2 - 2, x1 + 2:x2 - 2]).mean() > 30


def test_scene_cut_found_and_tracks_end_there(tmp_path, scripted_detector):
    from tests.media import draw_frame

    square = Square(40, 30, 40, vx=1)

    def frame(i):
        image = draw_frame(160, 120, i, [square], background=40 if i < 6 else 220)
        if i >= 6:
            image[..., 2] = 255 - image[..., 2]
        return image

    source = make_video(tmp_path / "in.mp4", frames=12, frame_fn=frame)
    options = AnonymizeOptions(detect=DetectOptions(detect_every_n_frames=1, turn_probe_every_n_frames=0),
                               track=TrackOptions(pad_s=1.0))
    report = anonymize_video(source, tmp_path / "out.mp4", options,
                             detector=scripted_detector(boxes_for_call=lambda i: [square.xyxy(i)]))
    assert report["scene_cuts"] == [6]
    spans = sorted((t["first_frame"], t["last_frame"]) for t in report["tracks"])
    assert spans == [(0, 5), (6, 11)]  # padding does not cross the cut either


def test_cover_picture_stream_is_not_taken_for_the_video():
    from types import SimpleNamespace

    from app.pipeline.decode import main_video_stream

    d = av.stream.Disposition
    cover = SimpleNamespace(disposition=d.attached_pic, name="cover")
    thumbs = SimpleNamespace(disposition=d.timed_thumbnails, name="thumbs")
    plain = SimpleNamespace(disposition=d(0), name="plain")
    default = SimpleNamespace(disposition=d.default, name="default")

    def container(*streams):
        return SimpleNamespace(name="clip.mp4", streams=SimpleNamespace(video=list(streams)))

    assert main_video_stream(container(cover, thumbs, plain)).name == "plain"
    assert main_video_stream(container(cover, plain, default)).name == "default"
    with pytest.raises(InputError, match="only a cover picture"):
        main_video_stream(container(cover))
    with pytest.raises(InputError, match="no video stream"):
        main_video_stream(container())


def test_mpeg_ts_with_b_frames_keeps_timestamps_and_audio_payload(tmp_path, scripted_detector):
    """Broadcast-style input: MPEG-TS, B-frames, a start offset, ADTS AAC. MP4 stores AAC
    without ADTS headers; the audio payload after them is kept byte for byte."""
    source = tmp_path / "in.ts"
    with av.open(str(source), "w", format="mpegts") as out:
        video = out.add_stream("libx264", rate=25, options={"preset": "medium", "bf": "3"})
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        audio = out.add_stream("aac", rate=48000, layout="mono")
        rng = np.random.default_rng(3)
        for i in range(30):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8),
                                               format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        for start in range(0, 48000, 1024):
            chunk = (np.sin(np.arange(start, start + 1024) / 20) * 8000).astype(np.int16)[None]
            samples = av.AudioFrame.from_ndarray(chunk, format="s16", layout="mono")
            samples.sample_rate, samples.pts = 48000, start
            out.mux(audio.encode(samples))
        out.mux(audio.encode(None))
    out_path = tmp_path / "out.mp4"
    anonymize_video(source, out_path, BOX_ONLY,
                    detector=scripted_detector(boxes_for_call=lambda i: [[10, 10, 50, 50]]))
    before, after = read_video(source, False), read_video(out_path, False)
    assert before.times_s[0] > 0  # MPEG-TS starts late...
    assert after.times_s == before.times_s  # ...and the output keeps every timestamp
    adts_header = 7
    assert [p[adts_header:] for p in before.audio_packets[0]] == after.audio_packets[0]
    assert len(after.audio_packets[0]) > 40
