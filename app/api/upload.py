"""Streaming multipart upload: the file part goes straight to disk in chunks, with a size
limit enforced while it arrives (never buffered whole in memory or in a temp file)."""

from __future__ import annotations

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


async def receive_upload(request: Request, destination: Path, max_bytes: int,
                         file_field: str = "file") -> tuple[dict[str, str], int]:
    """Parse a multipart/form-data request, writing the ``file_field`` part to ``destination``.

    Returns (other fields, bytes written). Raises UploadError (400/413/415).
    """
    limit_mb = max_bytes / 1024 / 1024
    too_large = UploadError(413, f"The file is larger than the limit of {limit_mb:g} MB.")
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise UploadError(415, "Send the video as multipart/form-data with a 'file' field.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes + 64 * 1024:
        raise too_large

    fields: dict[str, str] = {}
    state = {"name": None, "is_file": False, "headers": [], "header_name": b"", "header_value": b"",
             "data": bytearray(), "files": 0}
    pending: list[bytes] = []
    written = 0

    def on_part_begin() -> None:
        state.update(name=None, is_file=False, headers=[], data=bytearray())

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
        elif len(fields) >= MAX_FIELDS:
            raise UploadError(400, "The form has too many fields.")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["is_file"]:
            pending.append(data[start:end])
        else:
            state["data"] += data[start:end]
            if len(state["data"]) > MAX_FIELD_BYTES:
                raise UploadError(400, f"The form field {state['name']!r} is too long.")

    def on_part_end() -> None:
        if not state["is_file"] and state["name"]:
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
            parser.finalize()
    except FormParserError:
        raise UploadError(400, "The upload is not valid multipart/form-data.") from None
    if state["files"] == 0:
        raise UploadError(400, "Choose a video file to upload (form field 'file').")
    if written == 0:
        raise UploadError(400, "The uploaded file is empty.")
    return fields, written
