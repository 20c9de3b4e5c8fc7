"""The job record and its states."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

JOB_ID_BYTES = 24  # 192 random bits; token_urlsafe gives 32 characters
JOB_ID_CHARS = 32


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # Analysed; waits for the editor to check who is hidden and ask for the render. No
    # worker holds it, so it survives restarts as it is.
    REVIEW = "review"

    @property
    def is_active(self) -> bool:
        """Queued or running: a worker holds it or will."""
        return self in (JobState.QUEUED, JobState.RUNNING)

    @property
    def is_cancellable(self) -> bool:
        return self.is_active or self is JobState.REVIEW


TERMINAL_STATES = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


def new_job_id() -> str:
    return secrets.token_urlsafe(JOB_ID_BYTES)


def is_valid_job_id(job_id: str) -> bool:
    """True when ``job_id`` has the shape of an id we issue (safe to use as a directory name)."""
    return (len(job_id) == JOB_ID_CHARS
            and all(c.isascii() and (c.isalnum() or c in "-_") for c in job_id))


@dataclass(frozen=True)
class Job:
    """One upload and its processing.

    progress: whole job in 0..1; eta_s and fps refer to the current stage; options: the
    engine options as given (JSON object, extended by later features); video: what the probe
    learned (VideoInfo.to_dict()); owner: SHA-256 of the creator's owner token, if any.
    """

    id: str
    state: JobState
    stage: str = "queued"
    progress: float = 0.0
    frames_done: int = 0
    frames_total: int = 0
    fps: float | None = None
    eta_s: float | None = None
    error: str | None = None
    options: dict = field(default_factory=dict)
    video: dict = field(default_factory=dict)
    owner: str | None = None
    attempts: int = 0
    worker_pid: int | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    finished_at: float | None = None

    @classmethod
    def from_row(cls, row) -> Job:
        data = dict(row)
        data["state"] = JobState(data["state"])
        data["options"] = json.loads(data["options"])
        data["video"] = json.loads(data["video"])
        return cls(**data)
