"""Worker processes: restart recovery, a worker that dies, a worker that ignores cancel."""

from __future__ import annotations

import shutil

from app.jobs.files import JobFiles
from app.jobs.model import new_job_id
from app.jobs.pool import INTERRUPTED, WORKER_DIED, remove_expired
from app.jobs.store import JobStore
from app.pipeline.decode import probe_video
from tests.jobs.fixtures import is_final, upload, wait_for


def _left_running(settings, clip_path, attempts: int) -> str:
    """A job as a previous server process left it: running, with a partial result."""
    store = JobStore(settings.db_path)
    store.initialize()
    job_id = new_job_id()
    files = JobFiles.of(settings.jobs_dir, job_id)
    files.root.mkdir(parents=True)
    shutil.copyfile(clip_path, files.upload)
    files.result.write_bytes(b"partial")
    store.create(job_id, {}, probe_video(clip_path).to_dict())
    for _ in range(attempts):
        store.claim(worker_pid=999_999)
        if _ < attempts - 1:
            store.recover_interrupted(99, "")
    return job_id


def test_restart_retries_an_interrupted_job(make_client, settings, clip_path):
    job_id = _left_running(settings, clip_path, attempts=1)
    client = make_client("fast")
    body = wait_for(client, job_id, is_final)
    assert body["state"] == "succeeded"
    assert client.get(f"/api/jobs/{job_id}/result").content == clip_path.read_bytes()


def test_restart_fails_a_job_interrupted_twice(make_client, settings, clip_path):
    job_id = _left_running(settings, clip_path, attempts=2)
    client = make_client("fast", start_workers=False)
    body = client.get(f"/api/jobs/{job_id}").json()
    assert body["state"] == "failed" and body["error"] == INTERRUPTED
    assert not JobFiles.of(settings.jobs_dir, job_id).result.exists()


def test_restart_mid_job_recovers(make_client, clip_path):
    """Stop the app while a job runs, start it again: the job is requeued and completes."""
    first = make_client("slow")
    job_id = upload(first, clip_path).json()["id"]
    wait_for(first, job_id, lambda b: b["state"] == "running" and b["frames_done"] > 0)
    first.__exit__(None, None, None)
    assert first.app.state.store.get(job_id).state == "queued"
    second = make_client("fast")
    assert wait_for(second, job_id, is_final)["state"] == "succeeded"


def test_dead_worker_fails_its_job_and_is_replaced(make_client, clip_path):
    client = make_client("crashing")
    job_id = upload(client, clip_path).json()["id"]
    body = wait_for(client, job_id, is_final)
    assert body["state"] == "failed" and body["error"] == WORKER_DIED
    pool = client.app.state.pool
    wait_for(client, job_id, lambda b: pool.processes[0].is_alive())


def test_worker_ignoring_cancel_is_stopped(make_client, clip_path, settings):
    client = make_client("stubborn")
    job_id = upload(client, clip_path).json()["id"]
    wait_for(client, job_id, lambda b: b["state"] == "running" and b["frames_done"] > 0)
    old_pid = client.app.state.pool.processes[0].pid
    assert client.delete(f"/api/jobs/{job_id}").status_code == 204
    store = client.app.state.store
    wait_for(client, job_id, lambda b: store.get(job_id).worker_pid is None, timeout_s=15)
    assert client.get(f"/api/jobs/{job_id}").json()["state"] == "cancelled"
    assert not (settings.jobs_dir / job_id).exists()
    pool = client.app.state.pool
    wait_for(client, job_id, lambda b: pool.processes[0].is_alive() and pool.processes[0].pid != old_pid)


def test_remove_expired_deletes_finished_jobs_and_files(make_client, clip_path, settings):
    client = make_client("fast")
    job_id = upload(client, clip_path).json()["id"]
    wait_for(client, job_id, is_final)
    store = client.app.state.store
    assert remove_expired(store, settings.jobs_dir, retention_h=1) == []
    assert remove_expired(store, settings.jobs_dir, retention_h=-1) == [job_id]
    assert client.get(f"/api/jobs/{job_id}").status_code == 404
    assert not (settings.jobs_dir / job_id).exists()
