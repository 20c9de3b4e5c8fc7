"""Photos: same format out, no metadata, EXIF orientation applied, alpha kept, faces hidden."""

import struct

import cv2
import numpy as np
import pytest

from app.pipeline.anonymize import anonymize_image
from app.pipeline.errors import OutputError
from tests.media import texture

FACE_XYXY = [20.0, 16.0, 60.0, 56.0]


def exif_segment(orientation: int, gps_text: bytes = b"") -> bytes:
    """A minimal APP1 Exif segment: one IFD with the orientation tag (and an ASCII tag that
    stands in for private data such as GPS or the camera's name)."""
    entries = [struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)]
    data = b""
    if gps_text:
        offset = 8 + 2 + 12 * 2 + 4
        entries.append(struct.pack(">HHII", 0x010F, 2, len(gps_text), offset))  # Make
        data = gps_text
    ifd = struct.pack(">H", len(entries)) + b"".join(entries) + struct.pack(">I", 0)
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + ifd + data
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def photo(tmp_path, name="in.jpg", exif=b"", channels=3):
    image = np.ascontiguousarray(np.tile(texture(80, 2), (1, 1, 1))[:64, :80])
    if channels == 4:
        image = np.dstack([image, np.full(image.shape[:2], 200, np.uint8)])
    ok, encoded = cv2.imencode(f".{name.rsplit('.', 1)[1]}", image)
    data = encoded.tobytes()
    if exif:
        data = data[:2] + exif + data[2:]  # right after the JPEG SOI marker
    path = tmp_path / name
    path.write_bytes(data)
    return path, image


def detector_at(scripted_detector, xyxy=FACE_XYXY):
    return scripted_detector(boxes_for_image=lambda image: [xyxy])


def test_jpeg_metadata_removed_and_face_hidden(tmp_path, scripted_detector):
    source, image = photo(tmp_path, exif=exif_segment(1, b"Acme PhoneCam GPS 48.85N\x00"))
    assert b"Acme PhoneCam" in source.read_bytes()
    out = tmp_path / "out.jpg"
    report = anonymize_image(source, out, detector=detector_at(scripted_detector))
    data = out.read_bytes()
    assert b"Exif" not in data and b"Acme PhoneCam" not in data
    result = cv2.imread(str(out))
    assert result.shape == image.shape
    x1, y1, x2, y2 = (int(v) for v in FACE_XYXY)
    inside = np.abs(result[y1 + 4:y2 - 4, x1 + 4:x2 - 4].astype(int) - image[y1 + 4:y2 - 4, x1 + 4:x2 - 4])
    assert inside.mean() > 30
    assert len(report["faces"]) == 1


def test_exif_orientation_is_applied(tmp_path, scripted_detector):
    source, image = photo(tmp_path, exif=exif_segment(6))  # 6: rotate 90 degrees clockwise
    out = tmp_path / "out.jpg"
    detector = detector_at(scripted_detector, [0, 0, 1, 1])
    anonymize_image(source, out, detector=detector)
    assert detector.shapes[0][:2] == (80, 64)  # the detector saw it upright
    assert cv2.imread(str(out)).shape[:2] == (80, 64)


def test_png_alpha_kept(tmp_path, scripted_detector):
    source, image = photo(tmp_path, name="in.png", channels=4)
    out = tmp_path / "out.png"
    anonymize_image(source, out, detector=detector_at(scripted_detector))
    result = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert result.shape == (64, 80, 4)
    assert (result[..., 3] == 200).all()


def test_photo_keeps_its_format(tmp_path, scripted_detector):
    source, _ = photo(tmp_path)
    with pytest.raises(OutputError, match="keeps its format"):
        anonymize_image(source, tmp_path / "out.png", detector=detector_at(scripted_detector))
