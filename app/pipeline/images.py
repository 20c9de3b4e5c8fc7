"""Photos in and out: any JPEG/PNG/WebP (format from the content), RGB or RGBA, written back
in the same format with no metadata."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from app.pipeline.errors import InputError, OutputError


def read_image(path: Path, label: str = "") -> np.ndarray:
    """(H, W, 3|4) uint8 in RGB(A), turned by its EXIF orientation. The format is found from
    the content (a WebP named .jpg works). ``label`` prefixes the file name in error sentences
    ("Reference photo")."""
    name = f"{label} {path.name!r}" if label else repr(path.name)
    if not path.is_file():
        raise InputError(f"{name[0].upper()}{name[1:]} does not exist.")
    try:
        data = np.fromfile(str(path), np.uint8)
    except OSError as error:
        raise InputError(f"{name[0].upper()}{name[1:]} cannot be read: {error.strerror}.") from None
    unchanged = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if unchanged is None:
        raise InputError(f"{name[0].upper()}{name[1:]} is not an image Veil can read; "
                         "use a JPEG, PNG or WebP.")
    if unchanged.ndim == 3 and unchanged.shape[2] == 4:  # keep the alpha channel
        if unchanged.dtype != np.uint8:
            unchanged = (unchanged // 257).astype(np.uint8)
        return cv2.cvtColor(unchanged, cv2.COLOR_BGRA2RGBA)
    # IMREAD_COLOR applies the EXIF orientation, as viewers do; the output has no EXIF.
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def write_image(path: Path, image_rgb: np.ndarray) -> None:
    """Same format as the suffix says, without any metadata (EXIF, GPS)."""
    if image_rgb.shape[2] == 4:
        bgr = cv2.cvtColor(image_rgb, cv2.COLOR_RGBA2BGRA)
    else:
        bgr = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)
    suffix = path.suffix.lower()
    params = {".jpg": [cv2.IMWRITE_JPEG_QUALITY, 95], ".jpeg": [cv2.IMWRITE_JPEG_QUALITY, 95],
              ".webp": [cv2.IMWRITE_WEBP_QUALITY, 95]}.get(suffix, [])
    ok, encoded = cv2.imencode(suffix, bgr, params)
    if not ok:
        raise OutputError(f"Cannot encode {path.name!r} as {suffix}.")
    temp = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp.write_bytes(encoded.tobytes())
        temp.replace(path)
    except OSError as error:
        temp.unlink(missing_ok=True)
        raise OutputError(f"Cannot write the output {str(path)!r}: {error.strerror}.") from None
