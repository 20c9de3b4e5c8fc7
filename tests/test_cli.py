"""The CLI as a user runs it: exit codes and the one sentence shown."""

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from tests.media import make_video

ROOT = Path(__file__).resolve().parents[1]


def veil(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "app", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def assert_one_sentence(result, *fragments):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("veil: ")
    for fragment in fragments:
        assert fragment in message


def test_missing_file(tmp_path):
    assert_one_sentence(veil("anonymize", tmp_path / "nope.mp4"), "'nope.mp4' does not exist")


def test_not_a_video(tmp_path):
    bad = tmp_path / "random.mp4"
    bad.write_bytes(np.random.default_rng(1).integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    assert_one_sentence(veil("anonymize", bad), "'random.mp4' is not a video file")


def test_not_an_image(tmp_path):
    bad = tmp_path / "photo.jpg"
    bad.write_bytes(b"this is text, not a JPEG")
    assert_one_sentence(veil("anonymize", bad), "'photo.jpg' is not an image")


def test_no_video_stream(tmp_path):
    audio_only = tmp_path / "voice.m4a"
    with av.open(str(audio_only), "w") as out:
        stream = out.add_stream("aac", rate=48000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 48000
        for p in stream.encode(frame):
            out.mux(p)
        for p in stream.encode(None):
            out.mux(p)
    assert_one_sentence(veil("anonymize", audio_only, "-o", tmp_path / "o.mp4"), "has no video stream")


def test_zero_frames(tmp_path):
    empty = tmp_path / "empty.mkv"
    with av.open(str(empty), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height = 64, 64
        out.start_encoding()  # writes the header, with a video track and no frames
    assert empty.stat().st_size > 0
    assert_one_sentence(veil("anonymize", empty, "-o", tmp_path / "o.mp4"), "zero frames")


def test_unsupported_codec(tmp_path):
    clip = make_video(tmp_path / "clip.avi", codec="mjpeg", pix_fmt="yuvj420p", audio=None)
    data = clip.read_bytes().replace(b"MJPG", b"ZZZZ")  # a codec tag no decoder knows
    clip.write_bytes(data)
    result = veil("anonymize", clip, "-o", tmp_path / "o.mp4")
    assert_one_sentence(result, "clip.avi")
    assert "codec" in result.stderr or "cannot be decoded" in result.stderr


def test_unwritable_output(tmp_path, centerface):
    clip = make_video(tmp_path / "clip.mp4", frames=3)
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    assert_one_sentence(veil("anonymize", clip, "-o", blocker / "out.mp4"), "Cannot write the output")


def test_bad_option_value(tmp_path):
    clip = make_video(tmp_path / "clip.mp4", frames=3)
    assert_one_sentence(veil("anonymize", clip, "--min-score", "7"), "min_score")


def test_video_output_must_be_mp4(tmp_path):
    clip = make_video(tmp_path / "clip.mp4", frames=3)
    assert_one_sentence(veil("anonymize", clip, "-o", tmp_path / "out.mkv"), "MP4")


def test_photo_plans_are_for_photos(tmp_path):
    clip = make_video(tmp_path / "clip.mp4", frames=3)
    assert_one_sentence(veil("anonymize", clip, "--thorough"), "--thorough is for photos")
    assert_one_sentence(veil("anonymize", clip, "--fast"), "--fast is for photos")
    assert_one_sentence(veil("anonymize", clip, "--fast", "--thorough"), "not allowed with")
    assert not (tmp_path / "clip-anonymized.mp4").exists()


def photo_with_a_face(path: Path) -> np.ndarray:
    import cv2

    face = cv2.imread(str(ROOT / "tests" / "data" / "face.png"))
    photo = np.full((300, 400, 3), 128, np.uint8)
    photo[100:196, 150:246] = cv2.resize(face, (96, 96), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(path), photo)
    return photo


@pytest.mark.models
@pytest.mark.parametrize("flags, thorough, box_scale", [((), True, 1.3), (("--thorough",), True, 1.3),
                                                        (("--fast",), False, 1.2)])
def test_photo_hides_the_face_with_three_networks_unless_fast(tmp_path, centerface, retinaface, yunet,
                                                              flags, thorough, box_scale):
    import cv2

    photo = photo_with_a_face(tmp_path / "p.png")
    report = tmp_path / "r.json"
    result = veil("anonymize", tmp_path / "p.png", *flags, "--report", report)
    assert result.returncode == 0, result.stderr
    data = json.loads(report.read_text())
    assert data["settings"]["detect"]["thorough"] is thorough
    assert data["settings"]["track"]["box_scale"] == box_scale  # the plan's margins
    assert {"centerface.onnx", "retinaface.pb", "retinaface.onnx"} <= set(data["models"])
    assert ("yunet.onnx" in data["models"]) is thorough
    assert [face["sure"] for face in data["faces"]] == [True]  # a clear face: full margins
    out = cv2.imread(str(tmp_path / "p-anonymized.png"))
    eyes = (slice(125, 160), slice(170, 226))
    assert np.abs(out[eyes].astype(int) - photo[eyes]).mean() > 10  # the face is hidden
    assert (out[:60] == photo[:60]).all()  # the grey around it is not


@pytest.mark.models
def test_anonymize_video_writes_output_and_report(tmp_path, centerface):
    clip = make_video(tmp_path / "clip.mp4", frames=5)
    report = tmp_path / "r.json"
    result = veil("anonymize", clip, "--report", report, "--style", "blur", "--shape", "box")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "clip-anonymized.mp4"
    assert result.stdout.strip() == str(out)
    assert result.stderr == ""  # no progress bar when not on a terminal
    data = json.loads(report.read_text())
    assert data["output"]["frames"] == 5 and data["settings"]["redact"]["style"] == "blur"
    assert set(data["models"]) >= {"centerface.onnx", "centerface-dynamic.onnx", "yunet.onnx", "yunet-float.onnx"}


@pytest.mark.models
def test_anonymize_folder_keeps_relative_paths(tmp_path, centerface):
    import cv2

    src = tmp_path / "photos"
    (src / "a" / "b").mkdir(parents=True)
    image = np.full((60, 80, 3), 120, np.uint8)
    for rel in ["one.jpg", "a/two.png", "a/b/three.webp"]:
        cv2.imwrite(str(src / rel), image)
    (src / "notes.txt").write_text("ignored")
    result = veil("anonymize", src, "-o", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    found = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert found == ["a/b/three.webp", "a/two.png", "one.jpg"]
    for rel in found:
        assert cv2.imread(str(tmp_path / "out" / rel)).shape == (60, 80, 3)


@pytest.mark.models
def test_photos_default_to_the_photo_thresholds(tmp_path, centerface):
    import cv2

    photo = tmp_path / "p.png"
    cv2.imwrite(str(photo), np.full((40, 60, 3), 99, np.uint8))
    report = tmp_path / "r.json"
    assert veil("anonymize", photo, "--report", report).returncode == 0
    settings = json.loads(report.read_text())["settings"]
    assert settings["detect"]["min_score"] == 0.2 and settings["track"]["box_scale"] == 1.3
    assert veil("anonymize", photo, "--fast", "--report", report).returncode == 0
    assert json.loads(report.read_text())["settings"]["track"]["box_scale"] == 1.2
    assert veil("anonymize", photo, "--min-score", "0.4", "--report", report).returncode == 0
    assert json.loads(report.read_text())["settings"]["detect"]["min_score"] == 0.4
