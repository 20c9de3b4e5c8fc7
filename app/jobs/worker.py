"""The worker: a process that claims queued jobs one at a time and runs the engine on them."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from app.jobs import review
from app.jobs.engine import Engine, load_engine, needs_two_passes
from app.jobs.files import JobFiles, write_json_atomic
from app.jobs.model import Job, JobState
from app.jobs.stills import make_stills
from app.jobs.store import JobStore
from app.pipeline.errors import Cancelled, VeilError
from app.pipeline.progress import Progress

log = logging.getLogger(__name__)

INTERNAL_ERROR = ("Veil could not process this video because of an internal error (it has been "
                  "logged); please try again, and report it if it happens again.")
PROGRESS_INTERVAL_S = 0.3
CANCEL_CHECK_INTERVAL_S = 0.2
IDLE_POLL_S = 0.2


def worker_main(db_path: str, jobs_dir: str, engine_spec: str, stop_event,
                log_level: int = logging.INFO) -> None:
    """Entry point of a worker process (multiprocessing 'spawn')."""
    logging.basicConfig(level=log_level,
                        format="%(asctime)s %(levelname)s [worker %(process)d] %(name)s: %(message)s")
    engine = load_engine(engine_spec)
    engine.load()
    store = JobStore(Path(db_path))
    log.info("worker ready (engine %s)", engine_spec)
    while not stop_event.is_set():
        job = store.claim(os.getpid())
        if job is None:
            stop_event.wait(IDLE_POLL_S)
            continue
        run_job(store, engine, Path(jobs_dir), job, stop_event.is_set)


def run_job(store: JobStore, engine: Engine, jobs_dir: Path, job: Job, is_stopping) -> JobState:
    """Run one claimed job to a final state; returns the state it ended in.

    is_stopping: () -> bool, true when the worker is shutting down (the job goes back to the
    queue instead of being cancelled).
    """
    files = JobFiles.of(jobs_dir, job.id)
    last_progress = 0.0
    last_check = 0.0
    cancelled = False

    def progress(p: Progress) -> None:
        nonlocal last_progress
        now = time.monotonic()
        if now - last_progress >= PROGRESS_INTERVAL_S or p.fraction >= 1.0:
            last_progress = now
            store.update_progress(job.id, stage=p.stage, progress=p.fraction,
                                  frames_done=p.frames_done, frames_total=p.frames_total,
                                  fps=p.fps, eta_s=p.eta_s)

    def should_cancel() -> bool:
        nonlocal last_check, cancelled
        if is_stopping():
            return True
        now = time.monotonic()
        if now - last_check >= CANCEL_CHECK_INTERVAL_S:
            last_check = now
            cancelled = store.state(job.id) != JobState.RUNNING
        return cancelled

    log.info("job %s: started (attempt %d)", job.id[:8], job.attempts)
    try:
        files.result.unlink(missing_ok=True)
        if needs_two_passes(job.options):
            report = _two_passes(store, engine, files, job, progress, should_cancel)
            if report is None:
                if store.to_review(job.id):
                    log.info("job %s: waiting for review", job.id[:8])
                    return JobState.REVIEW
                files.remove()  # cancelled or deleted while saving the analysis
                store.clear_worker(job.id)
                return JobState.CANCELLED
        else:
            report = engine.anonymize(files.upload, files.result, job.options,
                                      progress=progress, should_cancel=should_cancel)
        write_json_atomic(files.report, report)
        try:
            make_stills(files.upload, files.result, files.still("before"), files.still("after"),
                        report, job.video)
        except Exception:  # stills are a convenience; the result stands without them
            log.warning("job %s: could not make the before/after stills", job.id[:8], exc_info=True)
        if store.finish(job.id, JobState.SUCCEEDED):
            log.info("job %s: succeeded", job.id[:8])
            return JobState.SUCCEEDED
        files.remove()  # cancelled or deleted while finishing
        store.clear_worker(job.id)
        return JobState.CANCELLED
    except Cancelled:
        if is_stopping() and store.state(job.id) == JobState.RUNNING:
            store.release(job.id)
            log.info("job %s: put back in the queue (worker stopping)", job.id[:8])
            return JobState.QUEUED
        files.remove()
        store.clear_worker(job.id)
        log.info("job %s: cancelled", job.id[:8])
        return JobState.CANCELLED
    except VeilError as error:
        log.info("job %s: failed: %s", job.id[:8], error)
        _fail(store, files, job, user_sentence(str(error), job.options))
        return JobState.FAILED
    except Exception:
        log.exception("job %s: internal error", job.id[:8])
        _fail(store, files, job, INTERNAL_ERROR)
        return JobState.FAILED


def user_sentence(sentence: str, options: dict) -> str:
    """Name reference photos as the user named them, not by their stored names."""
    for index, name in enumerate(options.get("references") or []):
        sentence = sentence.replace(repr(f"reference-{index}"), repr(name))
    return sentence


def _two_passes(store: JobStore, engine, files: JobFiles, job: Job, progress,
                should_cancel) -> dict | None:
    """Analyse (unless a reviewed analysis is saved) and render; None when the job must now
    wait for the editor (the analysis, decisions and thumbnails are saved)."""
    timing: dict = {}
    if review.has_review(files):  # the editor asked for the render: no second detection pass
        saved = review.load_review(files)
        analysis_data = review.load_analysis_data(files)
        decisions = review.final_decisions(saved)
    else:
        started = time.monotonic()
        analysis, decisions = engine.analyse(files.upload, job.options, files.references,
                                             progress=progress, should_cancel=should_cancel)
        timing["analyse_s"] = round(time.monotonic() - started, 3)
        if job.options.get("review"):
            review.save_review(files, analysis, decisions)
            return None
        saved, analysis_data = None, analysis
    report = engine.render(files.upload, files.result, analysis_data, decisions, job.options,
                           files.references, progress=progress, should_cancel=should_cancel,
                           timing=timing)
    return report if saved is None else review.annotate_report(report, saved)


def _fail(store: JobStore, files: JobFiles, job: Job, sentence: str) -> None:
    files.result.unlink(missing_ok=True)
    if not store.finish(job.id, JobState.FAILED, sentence):
        files.remove()
        store.clear_worker(job.id)
