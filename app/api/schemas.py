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
                         after=f"{base}/stills/after"))


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)
