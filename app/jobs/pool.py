"""Worker processes, started and stopped with the app, and the thread that watches them.

The watcher restarts a worker that died (failing the job it held, so nothing stays
``running``), stops a worker that ignores a cancellation, and deletes expired jobs.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from pathlib import Path

from app.config import Settings
from app.jobs.files import JobFiles
from app.jobs.store import JobStore

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2
INTERRUPTED = ("The server restarted twice while processing this video, so Veil stopped "
               "trying; please upload it again.")
WORKER_DIED = ("The worker processing this video stopped unexpectedly (it may have run out of "
               "memory); please try again, perhaps with a shorter or smaller video.")
CANCEL_GRACE_S = 3.0
WATCH_INTERVAL_S = 0.5
CLEANUP_INTERVAL_S = 60.0
STOP_TIMEOUT_S = 10.0


def recover(store: JobStore, jobs_dir: Path) -> tuple[list[str], list[str]]:
    """Jobs left running by a previous process: retry once from scratch, else fail."""
    requeued, failed = store.recover_interrupted(MAX_ATTEMPTS, INTERRUPTED)
    for job_id in requeued + failed:
        JobFiles.of(jobs_dir, job_id).result.unlink(missing_ok=True)
    if requeued or failed:
        log.warning("recovered interrupted jobs: %d requeued, %d failed", len(requeued), len(failed))
    return requeued, failed


def remove_expired(store: JobStore, jobs_dir: Path, retention_h: float) -> list[str]:
    ids = store.expired(time.time() - retention_h * 3600)
    for job_id in ids:
        JobFiles.of(jobs_dir, job_id).remove()
        store.delete(job_id)
    if ids:
        log.info("deleted %d expired jobs", len(ids))
    return ids


class WorkerPool:
    def __init__(self, settings: Settings, store: JobStore, engine_spec: str) -> None:
        self.settings = settings
        self.store = store
        self.engine_spec = engine_spec
        self.context = multiprocessing.get_context("spawn")
        self.stop_event = self.context.Event()
        self.processes: list[multiprocessing.process.BaseProcess] = []
        self._watcher: threading.Thread | None = None
        self._stopping = threading.Event()
        self._last_cleanup = 0.0

    def _spawn(self) -> multiprocessing.process.BaseProcess:
        process = self.context.Process(
            target=_worker_entry, name="veil-worker", daemon=True,
            args=(str(self.store.db_path), str(self.settings.jobs_dir), self.engine_spec,
                  self.stop_event, logging.getLogger().getEffectiveLevel()))
        process.start()
        log.info("started worker %d", process.pid)
        return process

    def start(self) -> None:
        self.processes = [self._spawn() for _ in range(self.settings.workers)]
        self._watcher = threading.Thread(target=self._watch, name="veil-watcher", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        self._stopping.set()
        self.stop_event.set()
        if self._watcher is not None:
            self._watcher.join()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process in self.processes:
            process.join(max(deadline - time.monotonic(), 0.1))
            if process.is_alive():
                log.warning("worker %d did not stop; killing it", process.pid)
                process.kill()
                process.join()
        # A worker killed mid-job leaves it running: restart recovery retries it once.

    def _watch(self) -> None:
        while not self._stopping.wait(WATCH_INTERVAL_S):
            try:
                self.check()
            except Exception:
                log.exception("worker watcher failed; trying again")

    def check(self) -> None:
        """One round of supervision (called every WATCH_INTERVAL_S)."""
        for i, process in enumerate(self.processes):
            if not process.is_alive() and not self._stopping.is_set():
                failed = self.store.fail_worker_jobs(process.pid, WORKER_DIED)
                log.error("worker %d exited with code %s; failed jobs %s",
                          process.pid, process.exitcode, [j[:8] for j in failed])
                for job_id in failed:
                    JobFiles.of(self.settings.jobs_dir, job_id).result.unlink(missing_ok=True)
                self.processes[i] = self._spawn()
        pids = {p.pid: p for p in self.processes}
        for job_id, pid in self.store.stuck_cancellations(time.time() - CANCEL_GRACE_S):
            process = pids.get(pid)
            if process is not None and process.is_alive():
                log.warning("worker %d ignored the cancellation of job %s; stopping it", pid, job_id[:8])
                process.kill()
                process.join()
            self.store.fail_worker_jobs(pid, WORKER_DIED)
            JobFiles.of(self.settings.jobs_dir, job_id).remove()
        now = time.monotonic()
        if now - self._last_cleanup >= CLEANUP_INTERVAL_S:
            self._last_cleanup = now
            remove_expired(self.store, self.settings.jobs_dir, self.settings.job_retention_h)


def _worker_entry(*args) -> None:
    from app.jobs.worker import worker_main

    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    worker_main(*args)
