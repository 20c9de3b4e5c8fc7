"""Streaming multipart upload: the file parts go straight to disk in chunks, with size
limits enforced while they arrive (never buffered whole in memory or in a temp file).

One video (field ``file``) and, optionally, reference photos (field ``reference``, repeated).
Names chosen by the client are never used as paths; photos are stored as given by
``photo_path(index)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import python_multipart
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header
from starlette.requests import Request

MAX_FIELD_BYTES = 4096
MAX_FIELDS = 32


class UploadError(Exception):
    """The upload cannot be accepted; ``status_code`` and a sentence for the user."""

    def __init__(self, status_code: int, sentence: str) -> None:
        super().__init__(sentence)
        self.status_code = status_code


@dataclass
class PhotoParts:
    """Where reference photos go, and their limits. ``names``: the client's file names, for
    display only (sanitised), in the order of the stored photos."""

    photo_path: Callable[[int], Path]
    max_count: int
    max_bytes: int
    field_name: str = "reference"
    names: list[str] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)


def display_name(raw: bytes, index: int) -> str:
    """A client's file name fit to show in a sentence (never used as a path)."""
    name = raw.decode("utf-8", "replace").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()[:80]
    return name or f"photo {index + 1}"


async def receive_upload(request: Request, destination: Path, max_bytes: int,
                         file_field: str = "file",
                         photos: PhotoParts | None = None) -> tuple[dict[str, str], int]:
    """Parse a multipart/form-data request, writing the ``file_field`` part to ``destination``
    and each non-empty ``photos.field_name`` part to ``photos.photo_path(i)``.

    Returns (other fields, bytes written). Raises UploadError (400/413/415).
    """
    limit_mb = max_bytes / 1024 / 1024
    too_large = UploadError(413, f"The file is larger than the limit of {limit_mb:g} MB.")
    photo_limit_mb = photos.max_bytes / 1024 / 1024 if photos else 0
    photo_too_large = UploadError(
        413, f"A reference photo is larger than the limit of {photo_limit_mb:g} MB.")
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise UploadError(415, "Send the video as multipart/form-data with a 'file' field.")
    declared = request.headers.get("content-length")
    allowed = max_bytes + 64 * 1024 + (photos.max_count * photos.max_bytes if photos else 0)
    if declared is not None and declared.isdigit() and int(declared) > allowed:
        raise too_large

    fields: dict[str, str] = {}
    state = {"name": None, "is_file": False, "photo": None, "headers": [], "header_name": b"",
             "header_value": b"", "data": bytearray(), "files": 0}
    pending: list[bytes] = []
    # (photo index, bytes) waiting to be written; photos are small, so kept per chunk only.
    photo_pending: list[tuple[int, bytes]] = []
    photo_files: dict[int, object] = {}
    written = 0

    def on_part_begin() -> None:
        state.update(name=None, is_file=False, photo=None, headers=[], data=bytearray())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header_name"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["header_value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"].append((state["header_name"].lower(), state["header_value"]))
        state["header_name"], state["header_value"] = b"", b""

    def on_headers_finished() -> None:
        disposition = dict(state["headers"]).get(b"content-disposition", b"")
        _, options = parse_options_header(disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        state["name"] = name
        state["is_file"] = name == file_field
        if state["is_file"]:
            state["files"] += 1
            if state["files"] > 1:
                raise UploadError(400, "Send one video per upload.")
        elif photos is not None and name == photos.field_name:
            index = len(photos.names)
            if index >= photos.max_count:
                raise UploadError(400, f"Send at most {photos.max_count} reference photos.")
            photos.names.append(display_name(options.get(b"filename", b""), index))
            photos.sizes.append(0)
            state["photo"] = index
        elif len(fields) >= MAX_FIELDS:
            raise UploadError(400, "The form has too many fields.")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["is_file"]:
            pending.append(data[start:end])
        elif state["photo"] is not None:
            photo_pending.append((state["photo"], data[start:end]))
        else:
            state["data"] += data[start:end]
            if len(state["data"]) > MAX_FIELD_BYTES:
                raise UploadError(400, f"The form field {state['name']!r} is too long.")

    def on_part_end() -> None:
        if not state["is_file"] and state["photo"] is None and state["name"]:
            fields[state["name"]] = state["data"].decode("utf-8", "replace")

    callbacks = {
        "on_part_begin": on_part_begin, "on_part_data": on_part_data, "on_part_end": on_part_end,
        "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished,
    }
    parser = python_multipart.MultipartParser(params[b"boundary"], callbacks)
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        async with await anyio.open_file(destination, "wb") as out:
            async for chunk in request.stream():
                parser.write(chunk)
                if pending:
                    data = b"".join(pending)
                    pending.clear()
                    written += len(data)
                    if written > max_bytes:
                        raise too_large
                    await out.write(data)
                for index, data in photo_pending:
                    photos.sizes[index] += len(data)
                    if photos.sizes[index] > photos.max_bytes:
                        raise photo_too_large
                    if index not in photo_files:
                        photo_files[index] = await anyio.open_file(photos.photo_path(index), "wb")
                    await photo_files[index].write(data)
                photo_pending.clear()
            parser.finalize()
    except FormParserError:
        raise UploadError(400, "The upload is not valid multipart/form-data.") from None
    finally:
        for photo_file in photo_files.values():
            await photo_file.aclose()
    if photos is not None:
        _drop_empty_photos(photos)
    if state["files"] == 0:
        raise UploadError(400, "Choose a video file to upload (form field 'file').")
    if written == 0:
        raise UploadError(400, "The uploaded file is empty.")
    return fields, written


def _drop_empty_photos(photos: PhotoParts) -> None:
    """A form with an empty file picker sends an empty part: not a photo. Renumber the rest."""
    kept = [i for i, size in enumerate(photos.sizes) if size > 0]
    names = [photos.names[i] for i in kept]
    for new, old in enumerate(kept):
        if new != old:
            photos.photo_path(old).replace(photos.photo_path(new))
    photos.names[:] = names
    photos.sizes[:] = [photos.sizes[i] for i in kept]
