"""The JSON API for jobs: create (upload), read, result, report, stills, delete, and the
review step (people, per-person and per-track choices, render)."""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from typing import Literal

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse

from app.api.deps import EngineDep, SettingsDep, StoreDep
from app.api.schemas import BlurChoice, ErrorOut, JobPublic, PeopleOut
from app.api.upload import PhotoParts, UploadError, receive_upload
from app.config import Settings
from app.jobs import review
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
                "mode": {"type": "string", "enum": ["all", "only", "keep"], "default": "all",
                         "description": "Hide every face (all), only the people in the "
                                        "reference photos (only), or everyone except them (keep)."},
                "reference": {"type": "array", "items": {"type": "string", "format": "binary"},
                              "description": "Reference photos (JPEG, PNG or WebP), one face "
                                             "each; needed for 'only' and 'keep'."},
                "review": {"type": "boolean", "default": False,
                           "description": "Stop after the analysis so the editor can choose "
                                          "who is hidden, then render (POST .../render)."},
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


MODES = ("all", "only", "keep")
MAX_REFERENCES = 10
MAX_REFERENCE_MB = 20
MODE_NAMES = {"only": "only these people", "keep": "everyone except these people"}
NOT_IN_REVIEW = "This job is not waiting for review (it is {state}), so its choices cannot change."
# Edits of review.json are read-modify-write: one at a time in this (single) web process, and
# never after the job was queued for rendering.
_review_lock = threading.Lock()


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
    mode = fields.get("mode", "").strip().lower() or "all"
    if mode not in MODES:
        raise HTTPException(422, f"The mode {mode!r} is not known; choose one of {', '.join(MODES)}.")
    if mode != "all":
        options["policy"] = mode
    if fields.get("review", "").strip().lower() in ("1", "true", "on", "yes"):
        options["review"] = True
    return options


def check_photos(options: dict, photos: PhotoParts) -> None:
    """Reference photos fit the mode and look like images; whether each shows one face is
    checked by the worker, which has the models (the job fails with that sentence)."""
    policy = options.get("policy", "all")
    if policy == "all":
        for index in range(len(photos.names)):  # photos chosen, then the mode set back
            photos.photo_path(index).unlink(missing_ok=True)
        return
    if not photos.names:
        raise HTTPException(422, f"Add at least one reference photo for '{MODE_NAMES[policy]}': "
                                 "a photo showing the person's face.")
    for index, name in enumerate(photos.names):
        with open(photos.photo_path(index), "rb") as f:
            head = f.read(16)
        is_image = (head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG\r\n\x1a\n")
                    or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"))
        if not is_image:
            raise HTTPException(422, f"The reference photo {name!r} is not a JPEG, PNG or WebP "
                                     "image; choose a photo showing the person's face.")
    options["references"] = list(photos.names)


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
        photos = PhotoParts(files.reference, MAX_REFERENCES, MAX_REFERENCE_MB * 1024 * 1024)
        try:
            fields, _ = await receive_upload(request, files.upload, settings.max_upload_bytes,
                                             photos=photos)
        except UploadError as error:
            raise HTTPException(error.status_code, str(error)) from None
        options = parse_options(fields)
        await run_in_threadpool(check_photos, options, photos)
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
    """Cancel a queued, running or in-review job and delete its files; delete a finished job
    entirely.

    A cancelled job stays visible (state ``cancelled``) until deleted again or expired.
    """
    if not is_valid_job_id(job_id):
        raise HTTPException(404, NOT_FOUND)
    with _review_lock:
        before = store.cancel(job_id)
    if before is None:
        raise HTTPException(404, NOT_FOUND)
    files = JobFiles.of(settings.jobs_dir, job_id)
    if before == JobState.RUNNING:
        pass  # the worker notices within a fraction of a second and removes the files
    elif before in (JobState.QUEUED, JobState.REVIEW):
        files.remove()
    else:
        files.remove()
        store.delete(job_id)
    log.info("job %s: deleted (was %s)", job_id[:8], before.value)
    return Response(status_code=204)


# ---- the review step ------------------------------------------------------------------------

def _require_review(store: JobStore, job_id: str) -> Job:
    job = find_job(store, job_id)
    if job.state != JobState.REVIEW:
        raise HTTPException(409, NOT_IN_REVIEW.format(state=job.state.value))
    return job


def _people(settings: Settings, job: Job) -> PeopleOut:
    files = JobFiles.of(settings.jobs_dir, job.id)
    if not review.has_review(files):
        raise HTTPException(409, "This job has no people to review: it was not analysed "
                                 "with the review step, or its analysis is not finished yet.")
    cards = review.people(review.load_review(files),
                          f"/api/jobs/{job.id}/tracks/{{track_id}}/thumbnails/{{index}}")
    return PeopleOut(state=job.state, people=cards)


@router.get("/{job_id}/people", response_model=PeopleOut, responses=ERRORS)
def read_people(job_id: str, settings: SettingsDep, store: StoreDep) -> PeopleOut:
    """One card per person found (tracks grouped by identity): face thumbnails, when they
    appear, how many frames, whether they are hidden and why. Available from the review
    state on."""
    job = find_job(store, job_id)
    if job.state not in (JobState.REVIEW, JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED):
        raise HTTPException(409, f"This job is {job.state.value}; there are no people to show.")
    return _people(settings, job)


def _edit(settings: Settings, store: StoreDep, job_id: str, edit) -> PeopleOut:
    with _review_lock:
        job = _require_review(store, job_id)
        files = JobFiles.of(settings.jobs_dir, job.id)
        saved = review.load_review(files)
        try:
            edit(saved)
        except review.ReviewError as error:
            raise HTTPException(404, str(error)) from None
        review.save_edits(files, saved)
    return _people(settings, job)


@router.patch("/{job_id}/people/{person_key}", response_model=PeopleOut, responses=ERRORS)
def update_person(job_id: str, person_key: str, choice: BlurChoice, settings: SettingsDep,
                  store: StoreDep) -> PeopleOut:
    """Hide (``{"blur": true}``) or show (``false``) every face track of one person."""
    out = _edit(settings, store, job_id, lambda r: review.set_person(r, person_key, choice.blur))
    log.info("job %s: person %s set to %s", job_id[:8], person_key, "blur" if choice.blur else "keep")
    return out


@router.patch("/{job_id}/tracks/{track_id}", response_model=PeopleOut, responses=ERRORS)
def update_track(job_id: str, track_id: int, choice: BlurChoice, settings: SettingsDep,
                 store: StoreDep) -> PeopleOut:
    """Hide or show one face track (one appearance of a person)."""
    return _edit(settings, store, job_id, lambda r: review.set_track(r, track_id, choice.blur))


@router.get("/{job_id}/tracks/{track_id}/thumbnails/{index}", responses=ERRORS,
            response_class=FileResponse)
def read_thumbnail(job_id: str, track_id: int, index: int, settings: SettingsDep,
                   store: StoreDep) -> FileResponse:
    """A face crop from one track (JPEG, 160x160), for the review cards."""
    job = find_job(store, job_id)
    path = JobFiles.of(settings.jobs_dir, job.id).thumbnail(track_id, index)
    if job.state == JobState.CANCELLED or not path.is_file():
        raise HTTPException(404, "There is no such thumbnail for this job.")
    return FileResponse(path, media_type="image/jpeg")


@router.post("/{job_id}/render", status_code=202, response_model=JobPublic, responses=ERRORS)
def render_job(job_id: str, settings: SettingsDep, store: StoreDep) -> JobPublic:
    """Queue a job in review for rendering with the choices made (no second detection)."""
    with _review_lock:
        job = _require_review(store, job_id)
        if not store.queue_render(job.id):  # cannot happen under the lock; kept for safety
            raise HTTPException(409, NOT_IN_REVIEW.format(state="changing"))
    log.info("job %s: queued for rendering after review", job_id[:8])
    return job_public(settings, find_job(store, job_id))
