"""run_job in-process with scripted engines: success, engine errors, bugs, cancel, shutdown."""

from __future__ import annotations

import json
import logging
import shutil

import pytest

from app.jobs.files import JobFiles
from app.jobs.model import JobState, new_job_id
from app.jobs.store import JobStore
from app.jobs.worker import INTERNAL_ERROR, run_job
from app.pipeline.decode import probe_video
from tests.jobs.fake_engine import FakeEngine


@pytest.fixture
def store(tmp_path) -> JobStore:
    store = JobStore(tmp_path / "veil.db")
    store.initialize()
    return store


@pytest.fixture
def queued(store, tmp_path, clip_path):
    def make():
        job_id = new_job_id()
        files = JobFiles.of(tmp_path / "jobs", job_id)
        files.root.mkdir(parents=True)
        shutil.copyfile(clip_path, files.upload)
        store.create(job_id, {"style": "blur"}, probe_video(clip_path).to_dict())
        return store.claim(worker_pid=1), files
    return make


def test_run_job_success_writes_result_report_and_stills(store, queued, tmp_path):
    job, files = queued()
    assert run_job(store, FakeEngine(), tmp_path / "jobs", job, lambda: False) == JobState.SUCCEEDED
    done = store.get(job.id)
    assert done.state == JobState.SUCCEEDED and done.progress == 1.0 and done.worker_pid is None
    assert files.result.read_bytes() == files.upload.read_bytes()
    assert json.loads(files.report.read_text())["options"] == {"style": "blur"}
    assert files.still("before").stat().st_size > 0 and files.still("after").stat().st_size > 0
    assert not list(files.root.glob("*.partial"))


def test_run_job_engine_error_is_the_sentence(store, queued, tmp_path):
    job, files = queued()
    state = run_job(store, FakeEngine(fail_at=2), tmp_path / "jobs", job, lambda: False)
    assert state == JobState.FAILED
    assert store.get(job.id).error == "Frame 2 could not be processed; the job stopped."
    assert not files.result.exists()


def test_run_job_bug_is_generic_and_logged(store, queued, tmp_path, caplog):
    job, _ = queued()
    with caplog.at_level(logging.ERROR, logger="app.jobs.worker"):
        run_job(store, FakeEngine(bug_at=2), tmp_path / "jobs", job, lambda: False)
    assert store.get(job.id).error == INTERNAL_ERROR
    assert any(r.exc_info and "a bug in the engine" in str(r.exc_info[1]) for r in caplog.records)


def test_run_job_cancelled_removes_files(store, queued, tmp_path):
    job, files = queued()
    store.cancel(job.id)
    state = run_job(store, FakeEngine(frames=50), tmp_path / "jobs", job, lambda: False)
    assert state == JobState.CANCELLED
    assert store.get(job.id).state == JobState.CANCELLED and store.get(job.id).worker_pid is None
    assert not files.root.exists()


def test_run_job_shutdown_puts_the_job_back(store, queued, tmp_path):
    job, files = queued()
    assert run_job(store, FakeEngine(frames=50), tmp_path / "jobs", job, lambda: True) == JobState.QUEUED
    back = store.get(job.id)
    assert back.state == JobState.QUEUED and back.attempts == 0
    assert files.upload.exists()
