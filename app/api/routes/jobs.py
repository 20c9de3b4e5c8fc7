"""The JSON API for jobs: create (upload), read, result, report, stills, delete."""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import Literal

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse

from app.api.deps import EngineDep, SettingsDep, StoreDep
from app.api.schemas import ErrorOut, JobPublic
from app.api.upload import UploadError, receive_upload
from app.config import Settings
from app.jobs.files import JobFiles
from app.jobs.model import Job, JobState, is_valid_job_id, new_job_id
from app.jobs.store import JobStore
from app.pipeline.errors import InputError, VeilError
from app.pipeline.types import RedactShape, RedactStyle, VideoInfo

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/jobs", tags=["jobs"])

OWNER_COOKIE = "veil_owner"
NOT_FOUND = "There is no such job; it may have expired or been deleted."
ERRORS = {code: {"model": ErrorOut} for code in (400, 404, 409, 413, 415, 422)}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {
                "file": {"type": "string", "format": "binary", "description": "The video."},
                "style": {"type": "string", "enum": [s.value for s in RedactStyle],
                          "default": RedactStyle.MOSAIC.value},
                "shape": {"type": "string", "enum": [s.value for s in RedactShape],
                          "default": RedactShape.ELLIPSE.value},
            }}}},
    }
}


def find_job(store: JobStore, job_id: str) -> Job:
    job = store.get(job_id) if is_valid_job_id(job_id) else None
    if job is None:
        raise HTTPException(404, NOT_FOUND)
    return job


def job_public(settings: Settings, job: Job) -> JobPublic:
    has_stills = JobFiles.of(settings.jobs_dir, job.id).still("after").is_file()
    return JobPublic.from_job(job, has_stills=job.state == JobState.SUCCEEDED and has_stills)


def parse_options(fields: dict[str, str]) -> dict:
    options = {}
    for name, kind in (("style", RedactStyle), ("shape", RedactShape)):
        value = fields.get(name, "").strip().lower()
        if not value:
            continue
        if value not in {k.value for k in kind}:
            allowed = ", ".join(k.value for k in kind)
            raise HTTPException(422, f"The {name} {value!r} is not known; choose one of {allowed}.")
        options[name] = value
    return options


def user_sentence(error: Exception, stored_name: str) -> str:
    """The engine's sentence about our stored file, phrased about the user's upload."""
    sentence = str(error).replace(f"The file {stored_name!r}", "The uploaded file")
    sentence = sentence.replace(repr(stored_name), "The uploaded file", 1)
    return f"{sentence} Upload a video such as MP4, MOV, MKV, WebM or AVI."


def check_limits(settings: Settings, info: VideoInfo) -> None:
    if info.duration_s is not None and info.duration_s > settings.max_duration_s:
        raise HTTPException(422, f"The video lasts {_minutes(info.duration_s)}; the limit is "
                                 f"{_minutes(settings.max_duration_s)}. Trim it and try again.")
    if info.width * info.height > settings.max_pixels:
        raise HTTPException(422, f"The video is {info.width}x{info.height} pixels; the limit is "
                                 f"{settings.max_pixels:,} pixels per frame. Scale it down and try again.")
    if info.frame_count_estimate > settings.max_frames:
        raise HTTPException(422, f"The video has about {info.frame_count_estimate:,} frames; the "
                                 f"limit is {settings.max_frames:,}. Trim it and try again.")


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


@router.post("", status_code=202, response_model=JobPublic, responses=ERRORS,
             openapi_extra=UPLOAD_BODY)
async def create_job(request: Request, settings: SettingsDep, store: StoreDep,
                     engine: EngineDep) -> JSONResponse:
    """Upload a video (multipart field ``file``) with options; the job is queued."""
    job_id = new_job_id()
    files = JobFiles.of(settings.jobs_dir, job_id)
    try:
        try:
            fields, _ = await receive_upload(request, files.upload, settings.max_upload_bytes)
        except UploadError as error:
            raise HTTPException(error.status_code, str(error)) from None
        options = parse_options(fields)
        try:
            info = await run_in_threadpool(engine.probe, files.upload)
        except InputError as error:
            raise HTTPException(415, user_sentence(error, files.upload.name)) from None
        except VeilError as error:
            raise HTTPException(422, str(error)) from None
        check_limits(settings, info)
        token = request.cookies.get(OWNER_COOKIE) or secrets.token_urlsafe(24)
        owner = hashlib.sha256(token.encode()).hexdigest()
        job = await run_in_threadpool(store.create, job_id, options, info.to_dict(), owner)
    except BaseException:
        files.remove()
        raise
    body = job_public(settings, job)
    response = JSONResponse(body.model_dump(mode="json"), status_code=202,
                            headers={"Location": body.urls.status})
    if OWNER_COOKIE not in request.cookies:
        response.set_cookie(OWNER_COOKIE, token, httponly=True, samesite="strict",
                            max_age=int(settings.job_retention_h * 3600) + 86400)
    log.info("job %s: queued (%s)", job_id[:8], options)
    return response


@router.get("/{job_id}", response_model=JobPublic, responses=ERRORS)
def read_job(job_id: str, settings: SettingsDep, store: StoreDep) -> JobPublic:
    """State, stage and progress of a job."""
    return job_public(settings, find_job(store, job_id))


def _require_success(job: Job) -> None:
    if job.state == JobState.SUCCEEDED:
        return
    if job.state == JobState.FAILED:
        raise HTTPException(409, f"This job failed, so there is no result: {job.error}")
    if job.state == JobState.CANCELLED:
        raise HTTPException(409, "This job was cancelled, so there is no result.")
    raise HTTPException(409, f"The result is not ready yet; the job is {job.state.value}.")


@router.get("/{job_id}/result", responses={**ERRORS, 206: {"description": "Part of the video"}},
            response_class=FileResponse)
def read_job_result(job_id: str, settings: SettingsDep, store: StoreDep,
                    download: bool = False) -> FileResponse:
    """The anonymised video (MP4, H.264). Supports HTTP Range requests for seeking."""
    job = find_job(store, job_id)
    _require_success(job)
    path = JobFiles.of(settings.jobs_dir, job.id).result
    if not path.is_file():
        raise HTTPException(404, NOT_FOUND)
    return FileResponse(path, media_type="video/mp4", filename=f"veil-{job.id[:8]}.mp4",
                        content_disposition_type="attachment" if download else "inline")


@router.get("/{job_id}/report", responses=ERRORS, response_class=FileResponse)
def read_job_report(job_id: str, settings: SettingsDep, store: StoreDep) -> FileResponse:
    """The engine's JSON report: the video, the face tracks found and what was hidden."""
    job = find_job(store, job_id)
    _require_success(job)
    path = JobFiles.of(settings.jobs_dir, job.id).report
    if not path.is_file():
        raise HTTPException(404, NOT_FOUND)
    return FileResponse(path, media_type="application/json")


@router.get("/{job_id}/stills/{which}", responses=ERRORS, response_class=FileResponse)
def read_job_still(job_id: str, which: Literal["before", "after"], settings: SettingsDep,
                   store: StoreDep) -> FileResponse:
    """A JPEG of the same moment before and after anonymisation."""
    job = find_job(store, job_id)
    _require_success(job)
    path = JobFiles.of(settings.jobs_dir, job.id).still(which)
    if not path.is_file():
        raise HTTPException(404, "There is no still image for this job.")
    return FileResponse(path, media_type="image/jpeg")


@router.delete("/{job_id}", status_code=204, responses=ERRORS)
def delete_job(job_id: str, settings: SettingsDep, store: StoreDep) -> Response:
    """Cancel a queued or running job and delete its files; delete a finished job entirely.

    A cancelled job stays visible (state ``cancelled``) until deleted again or expired.
    """
    if not is_valid_job_id(job_id):
        raise HTTPException(404, NOT_FOUND)
    before = store.cancel(job_id)
    if before is None:
        raise HTTPException(404, NOT_FOUND)
    files = JobFiles.of(settings.jobs_dir, job_id)
    if before == JobState.RUNNING:
        pass  # the worker notices within a fraction of a second and removes the files
    elif before == JobState.QUEUED:
        files.remove()
    else:
        files.remove()
        store.delete(job_id)
    log.info("job %s: deleted (was %s)", job_id[:8], before.value)
    return Response(status_code=204)
