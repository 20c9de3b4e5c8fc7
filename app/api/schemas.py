"""JSON shapes of the API."""

from __future__ import annotations

from datetime import datetime, timezone

from pydantic import BaseModel

from app.jobs.model import Job, JobState


class ErrorOut(BaseModel):
    detail: str


class JobUrls(BaseModel):
    page: str
    status: str
    result: str
    report: str
    before: str
    after: str
    people: str
    render: str


class JobPublic(BaseModel):
    id: str
    state: JobState
    stage: str
    progress: float
    frames_done: int
    frames_total: int
    fps: float | None
    eta_s: float | None
    error: str | None
    options: dict
    video: dict
    has_stills: bool
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    urls: JobUrls

    @classmethod
    def from_job(cls, job: Job, has_stills: bool = False) -> JobPublic:
        base = f"/api/jobs/{job.id}"
        return cls(
            id=job.id, state=job.state, stage=job.stage, progress=job.progress,
            frames_done=job.frames_done, frames_total=job.frames_total, fps=job.fps,
            eta_s=job.eta_s, error=job.error, options=job.options, video=job.video,
            has_stills=has_stills, created_at=_utc(job.created_at),
            updated_at=_utc(job.updated_at),
            finished_at=None if job.finished_at is None else _utc(job.finished_at),
            urls=JobUrls(page=f"/jobs/{job.id}", status=base, result=f"{base}/result",
                         report=f"{base}/report", before=f"{base}/stills/before",
                         after=f"{base}/stills/after", people=f"{base}/people",
                         render=f"{base}/render"))


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


class BlurChoice(BaseModel):
    """The editor's choice for a person or a face track: hide it (true) or leave it (false)."""

    blur: bool


class TrackCard(BaseModel):
    track_id: int
    first_frame: int
    last_frame: int
    start_s: float
    end_s: float
    frames: int
    blur: bool
    reason: str
    similarity: float | None
    decided_blur: bool
    decided_reason: str
    is_override: bool
    thumbnails: list[str]


class PersonCard(BaseModel):
    """One person (tracks grouped by identity): when they appear and whether they are hidden.
    ``blur`` is true when any of their tracks is hidden."""

    key: str
    number: int
    person_id: int | None
    frames: int
    appearances_s: list[list[float]]
    blur: bool
    reasons: list[str]
    thumbnails: list[str]
    tracks: list[TrackCard]


class PeopleOut(BaseModel):
    state: JobState
    people: list[PersonCard]
