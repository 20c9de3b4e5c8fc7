"""SQLite job store (WAL, one short transaction per call, safe across processes).

Each call opens its own connection: the web process calls from a thread pool and the
workers from other processes; SQLite's WAL lets readers proceed while a worker writes.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.jobs.model import Job, JobState, TERMINAL_STATES

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    stage TEXT NOT NULL DEFAULT 'queued',
    progress REAL NOT NULL DEFAULT 0,
    frames_done INTEGER NOT NULL DEFAULT 0,
    frames_total INTEGER NOT NULL DEFAULT 0,
    fps REAL,
    eta_s REAL,
    error TEXT,
    options TEXT NOT NULL DEFAULT '{}',
    video TEXT NOT NULL DEFAULT '{}',
    owner TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    worker_pid INTEGER,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS jobs_state_created ON jobs (state, created_at);
"""

_ACTIVE = ("queued", "running")
_TERMINAL_SQL = ", ".join(f"'{s}'" for s in TERMINAL_STATES)


class JobStore:
    def __init__(self, db_path: Path, timeout_s: float = 10.0) -> None:
        self.db_path = Path(db_path)
        self.timeout_s = timeout_s

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.db_path, timeout=self.timeout_s, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA synchronous=NORMAL")
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def initialize(self) -> None:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)

    # --- web side -------------------------------------------------------------------------
    def create(self, job_id: str, options: dict, video: dict, owner: str | None = None) -> Job:
        now = time.time()
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO jobs (id, state, options, video, owner, created_at, updated_at)"
                " VALUES (?, 'queued', ?, ?, ?, ?, ?)",
                (job_id, json.dumps(options), json.dumps(video), owner, now, now))
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> Job | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else Job.from_row(row)

    def cancel(self, job_id: str) -> JobState | None:
        """Cancel a queued, running or in-review job; returns the state it had (None if no such job)."""
        with self._transaction() as conn:
            row = conn.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return None
            before = JobState(row["state"])
            if before.is_cancellable:
                now = time.time()
                conn.execute(
                    "UPDATE jobs SET state = 'cancelled', stage = 'cancelled', eta_s = NULL,"
                    " error = NULL, updated_at = ?, finished_at = ? WHERE id = ?",
                    (now, now, job_id))
            return before

    def delete(self, job_id: str) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    # --- worker side ----------------------------------------------------------------------
    def claim(self, worker_pid: int) -> Job | None:
        """Atomically take the oldest queued job and mark it running for ``worker_pid``."""
        now = time.time()
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT id FROM jobs WHERE state = 'queued' ORDER BY created_at LIMIT 1").fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE jobs SET state = 'running', stage = 'starting', attempts = attempts + 1,"
                " worker_pid = ?, progress = 0, frames_done = 0, fps = NULL, eta_s = NULL,"
                " updated_at = ? WHERE id = ?", (worker_pid, now, row["id"]))
            job = conn.execute("SELECT * FROM jobs WHERE id = ?", (row["id"],)).fetchone()
        return Job.from_row(job)

    def update_progress(self, job_id: str, *, stage: str, progress: float, frames_done: int,
                        frames_total: int, fps: float | None, eta_s: float | None) -> bool:
        with self._transaction() as conn:
            cur = conn.execute(
                "UPDATE jobs SET stage = ?, progress = ?, frames_done = ?, frames_total = ?,"
                " fps = ?, eta_s = ?, updated_at = ? WHERE id = ? AND state = 'running'",
                (stage, min(max(progress, 0.0), 1.0), frames_done, frames_total, fps, eta_s,
                 time.time(), job_id))
            return cur.rowcount == 1

    def state(self, job_id: str) -> JobState | None:
        with self._connect() as conn:
            row = conn.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else JobState(row["state"])

    def finish(self, job_id: str, state: JobState, error: str | None = None) -> bool:
        """Move a running job to a final state; False if it was cancelled or deleted meanwhile."""
        now = time.time()
        done = state == JobState.SUCCEEDED
        with self._transaction() as conn:
            cur = conn.execute(
                "UPDATE jobs SET state = ?, stage = ?, error = ?, eta_s = NULL, worker_pid = NULL,"
                " progress = CASE WHEN ? THEN 1.0 ELSE progress END,"
                " frames_done = CASE WHEN ? THEN frames_total ELSE frames_done END,"
                " updated_at = ?, finished_at = ? WHERE id = ? AND state = 'running'",
                (state.value, state.value, error, done, done, now, now, job_id))
            return cur.rowcount == 1

    def to_review(self, job_id: str) -> bool:
        """A running job whose analysis is saved waits for the editor (no worker holds it);
        False if it was cancelled or deleted meanwhile."""
        with self._transaction() as conn:
            cur = conn.execute(
                "UPDATE jobs SET state = 'review', stage = 'review', eta_s = NULL, fps = NULL,"
                " worker_pid = NULL, updated_at = ? WHERE id = ? AND state = 'running'",
                (time.time(), job_id))
            return cur.rowcount == 1

    def queue_render(self, job_id: str) -> bool:
        """A job in review goes back to the queue to be rendered (with fresh attempts: the
        analysis is kept, so a restart retries only the render). False if not in review."""
        with self._transaction() as conn:
            cur = conn.execute(
                "UPDATE jobs SET state = 'queued', stage = 'queued', attempts = 0, progress = 0,"
                " frames_done = 0, fps = NULL, eta_s = NULL, updated_at = ?"
                " WHERE id = ? AND state = 'review'", (time.time(), job_id))
            return cur.rowcount == 1

    def release(self, job_id: str) -> None:
        """Put a running job back in the queue without counting the attempt (clean shutdown)."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE jobs SET state = 'queued', stage = 'queued', attempts = MAX(attempts - 1, 0),"
                " worker_pid = NULL, progress = 0, frames_done = 0, fps = NULL, eta_s = NULL,"
                " updated_at = ? WHERE id = ? AND state = 'running'", (time.time(), job_id))

    def clear_worker(self, job_id: str) -> None:
        with self._transaction() as conn:
            conn.execute("UPDATE jobs SET worker_pid = NULL WHERE id = ?", (job_id,))

    # --- supervision ----------------------------------------------------------------------
    def recover_interrupted(self, max_attempts: int, sentence: str) -> tuple[list[str], list[str]]:
        """At start-up: jobs left running are requeued, or failed after ``max_attempts``.

        Returns (requeued ids, failed ids).
        """
        now = time.time()
        with self._transaction() as conn:
            rows = conn.execute("SELECT id, attempts FROM jobs WHERE state = 'running'").fetchall()
            requeued = [r["id"] for r in rows if r["attempts"] < max_attempts]
            failed = [r["id"] for r in rows if r["attempts"] >= max_attempts]
            conn.executemany(
                "UPDATE jobs SET state = 'queued', stage = 'queued', worker_pid = NULL, progress = 0,"
                " frames_done = 0, fps = NULL, eta_s = NULL, updated_at = ? WHERE id = ?",
                [(now, i) for i in requeued])
            conn.executemany(
                "UPDATE jobs SET state = 'failed', stage = 'failed', error = ?, worker_pid = NULL,"
                " eta_s = NULL, updated_at = ?, finished_at = ? WHERE id = ?",
                [(sentence, now, now, i) for i in failed])
        return requeued, failed

    def fail_worker_jobs(self, worker_pid: int, sentence: str) -> list[str]:
        """Fail the job(s) a dead worker left running; returns their ids."""
        now = time.time()
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT id FROM jobs WHERE state = 'running' AND worker_pid = ?",
                (worker_pid,)).fetchall()
            ids = [r["id"] for r in rows]
            conn.executemany(
                "UPDATE jobs SET state = 'failed', stage = 'failed', error = ?, worker_pid = NULL,"
                " eta_s = NULL, updated_at = ?, finished_at = ? WHERE id = ?",
                [(sentence, now, now, i) for i in ids])
            conn.execute("UPDATE jobs SET worker_pid = NULL WHERE worker_pid = ?", (worker_pid,))
        return ids

    def stuck_cancellations(self, older_than: float) -> list[tuple[str, int]]:
        """(job id, worker pid) of cancelled jobs whose worker has not let go since ``older_than``."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, worker_pid FROM jobs WHERE state = 'cancelled'"
                " AND worker_pid IS NOT NULL AND updated_at < ?", (older_than,)).fetchall()
        return [(r["id"], r["worker_pid"]) for r in rows]

    def expired(self, finished_before: float) -> list[str]:
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT id FROM jobs WHERE state IN ({_TERMINAL_SQL}, 'review')"
                " AND worker_pid IS NULL AND COALESCE(finished_at, updated_at) < ?",
                (finished_before,)).fetchall()
        return [r["id"] for r in rows]
