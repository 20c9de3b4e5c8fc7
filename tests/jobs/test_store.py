"""The SQLite job store."""

from __future__ import annotations

import time

import pytest

from app.jobs.model import JobState, is_valid_job_id, new_job_id
from app.jobs.store import JobStore


@pytest.fixture
def store(tmp_path) -> JobStore:
    store = JobStore(tmp_path / "veil.db")
    store.initialize()
    return store


def test_store_uses_wal(store):
    with store._connect() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_new_job_id_is_long_random_and_valid():
    ids = {new_job_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(is_valid_job_id(i) and len(i) == 32 for i in ids)  # 192 bits
    assert not is_valid_job_id("../" + "a" * 29) and not is_valid_job_id("short")


def test_store_create_keeps_options_json(store):
    job = store.create(new_job_id(), {"style": "blur", "people": [1, 2]}, {"width": 8})
    assert job.state == JobState.QUEUED and job.options == {"style": "blur", "people": [1, 2]}
    assert store.get(job.id) == job


def test_store_claim_takes_oldest_once(store):
    first = store.create(new_job_id(), {}, {})
    second = store.create(new_job_id(), {}, {})
    claimed = store.claim(worker_pid=11)
    assert claimed.id == first.id and claimed.state == JobState.RUNNING
    assert claimed.attempts == 1 and claimed.worker_pid == 11
    assert store.claim(worker_pid=12).id == second.id
    assert store.claim(worker_pid=13) is None


def test_store_progress_only_for_running_jobs(store):
    job = store.create(new_job_id(), {}, {})
    assert not store.update_progress(job.id, stage="analysing", progress=0.5, frames_done=1,
                                     frames_total=2, fps=1.0, eta_s=1.0)
    store.claim(1)
    assert store.update_progress(job.id, stage="analysing", progress=0.5, frames_done=1,
                                 frames_total=2, fps=1.0, eta_s=1.0)
    assert store.get(job.id).progress == 0.5
    store.cancel(job.id)
    assert not store.finish(job.id, JobState.SUCCEEDED)
    assert store.get(job.id).state == JobState.CANCELLED


def test_store_recover_retries_once_then_fails(store):
    job = store.create(new_job_id(), {}, {})
    store.claim(1)
    assert store.recover_interrupted(2, "Gave up.") == ([job.id], [])
    assert store.get(job.id).state == JobState.QUEUED
    store.claim(2)
    assert store.recover_interrupted(2, "Gave up.") == ([], [job.id])
    failed = store.get(job.id)
    assert failed.state == JobState.FAILED and failed.error == "Gave up."


def test_store_release_does_not_count_the_attempt(store):
    job = store.create(new_job_id(), {}, {})
    store.claim(1)
    store.release(job.id)
    again = store.claim(1)
    assert again.id == job.id and again.attempts == 1


def test_store_fail_worker_jobs(store):
    job = store.create(new_job_id(), {}, {})
    store.claim(worker_pid=42)
    assert store.fail_worker_jobs(41, "Died.") == []
    assert store.fail_worker_jobs(42, "Died.") == [job.id]
    assert store.get(job.id).error == "Died." and store.get(job.id).worker_pid is None


def test_store_expired_only_finished_jobs(store):
    done = store.create(new_job_id(), {}, {})
    store.claim(1)
    store.finish(done.id, JobState.SUCCEEDED)
    queued = store.create(new_job_id(), {}, {})
    assert store.expired(time.time() + 1) == [done.id]
    assert store.expired(time.time() - 3600) == []
    assert queued.id not in store.expired(time.time() + 1)


def test_store_review_survives_recovery_and_queues_render_with_fresh_attempts(store):
    store.create("r" * 32, {"review": True}, {})
    store.claim(worker_pid=7)
    assert store.to_review("r" * 32)
    job = store.get("r" * 32)
    assert job.state == JobState.REVIEW and job.worker_pid is None and job.attempts == 1
    assert store.recover_interrupted(2, "gone") == ([], [])
    assert store.claim(worker_pid=8) is None  # nobody picks a job in review
    assert store.queue_render("r" * 32) and not store.queue_render("r" * 32)
    queued = store.get("r" * 32)
    assert queued.state == JobState.QUEUED and queued.attempts == 0
    assert not store.to_review("r" * 32)  # only from running


def test_store_review_can_be_cancelled_and_expires(store):
    for job_id in ("a" * 32, "b" * 32):
        store.create(job_id, {}, {})
        store.claim(worker_pid=7)
        store.to_review(job_id)
    assert store.cancel("a" * 32) == JobState.REVIEW
    assert store.get("a" * 32).state == JobState.CANCELLED
    assert sorted(store.expired(time.time() + 1)) == ["a" * 32, "b" * 32]
    assert store.expired(time.time() - 3600) == []
