"""Scripted engines for tests: the real probe, and an 'anonymize' that copies the input
while reporting progress frame by frame (so tests are fast and need no model files).

Each module attribute is an engine the app can load by name, e.g. "jobs.fake_engine:fast".
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from app.pipeline.decode import probe_video
from app.pipeline.errors import Cancelled, ProcessingError
from app.pipeline.progress import Progress


class FakeEngine:
    def __init__(self, *, frame_delay_s: float = 0.0, frames: int | None = None,
                 fail_at: int | None = None, crash_at: int | None = None,
                 bug_at: int | None = None, ignore_cancel: bool = False) -> None:
        self.frame_delay_s = frame_delay_s
        self.frames = frames
        self.fail_at = fail_at
        self.crash_at = crash_at
        self.bug_at = bug_at
        self.ignore_cancel = ignore_cancel
        self.loaded = False

    def load(self) -> None:
        self.loaded = True

    def probe(self, path: Path):
        return probe_video(path)

    def anonymize(self, input_path: Path, output_path: Path, options: dict, *,
                  progress, should_cancel) -> dict:
        info = probe_video(input_path)
        total = self.frames or info.frame_count_estimate
        started = time.monotonic()
        for done in range(1, total + 1):
            if self.frame_delay_s:
                time.sleep(self.frame_delay_s)
            if done == self.fail_at:
                raise ProcessingError(f"Frame {done} could not be processed; the job stopped.")
            if done == self.crash_at:
                os._exit(3)
            if done == self.bug_at:
                raise RuntimeError("a bug in the engine")
            if not self.ignore_cancel and should_cancel():
                raise Cancelled("The job was cancelled.")
            elapsed = max(time.monotonic() - started, 1e-6)
            stage = "analysing" if done <= total // 2 else "rendering"
            progress(Progress(stage, done, total, round(done / elapsed, 2),
                              round((total - done) * elapsed / done, 1), done / total))
        tmp = output_path.with_name(output_path.name + ".partial")
        shutil.copyfile(input_path, tmp)
        os.replace(tmp, output_path)
        return {"kind": "video", "video": info.to_dict(), "options": options,
                "tracks": [{"id": 0, "first_frame": 0, "last_frame": 4}]}


class BrokenModelsEngine(FakeEngine):
    def verify(self) -> None:
        from app.pipeline.errors import ModelError

        raise ModelError("Model file models/centerface-dynamic.onnx is missing; run 'make setup'.")


fast = FakeEngine()
slow = FakeEngine(frame_delay_s=0.02, frames=100)        # about 2 s
endless = FakeEngine(frame_delay_s=0.01, frames=100_000)  # runs until cancelled
failing = FakeEngine(fail_at=3)
buggy = FakeEngine(bug_at=3)
crashing = FakeEngine(frame_delay_s=0.01, crash_at=20)
stubborn = FakeEngine(frame_delay_s=0.01, frames=100_000, ignore_cancel=True)
broken_models = BrokenModelsEngine()
