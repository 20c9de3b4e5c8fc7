"""Scripted engines for tests: the real probe, and an 'anonymize' that copies the input
while reporting progress frame by frame (so tests are fast and need no model files).

Each module attribute is an engine the app can load by name, e.g. "jobs.fake_engine:fast".
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from app.jobs.engine import PipelineEngine
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


# ---- the real pipeline with a scripted detector and embedder (no model files) ---------------

class ColourSquareDetector:
    """'Detects' the red and the blue textured squares of tests.jobs.media.make_two_people_clip
    (boxes in the image's own pixels), with plausible frontal landmarks and score 0.9."""

    def detect(self, image_rgb, max_side_px: int):
        import numpy as np

        from app.pipeline.types import FaceBoxes

        image = image_rgb.astype(np.int16)
        r, g, b = image[..., 0], image[..., 1], image[..., 2]
        boxes = []
        for mask in ((r > 140) & (g < 100) & (b < 100), (b > 140) & (r < 100) & (g < 100)):
            ys, xs = np.nonzero(mask)
            if len(xs) >= 64:
                boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        if not boxes:
            return FaceBoxes.empty()
        xyxy = np.asarray(boxes, np.float32)
        w, h = (xyxy[:, 2] - xyxy[:, 0])[:, None], (xyxy[:, 3] - xyxy[:, 1])[:, None]
        relative = np.array([[0.3, 0.4], [0.7, 0.4], [0.5, 0.55], [0.35, 0.75], [0.65, 0.75]],
                            np.float32)
        landmarks = xyxy[:, None, :2] + relative[None] * np.stack([w, h], axis=2)
        return FaceBoxes(xyxy, np.full(len(xyxy), 0.9, np.float32), landmarks.astype(np.float32))


class ColourEmbedder:
    """Embeds a crop as 'red person' or 'blue person' (two orthogonal unit vectors)."""

    def embed(self, crops):
        import numpy as np

        crops = np.asarray(crops, np.float32)
        out = np.zeros((len(crops), 512), np.float32)
        centre = crops[:, 40:120, 40:120]
        is_red = centre[..., 0].mean(axis=(1, 2)) > centre[..., 2].mean(axis=(1, 2))
        out[np.arange(len(crops)), np.where(is_red, 0, 1)] = 1.0
        return out


class TwoPeopleEngine(PipelineEngine):
    """app.jobs.engine.PipelineEngine (the real analyse, decide, render and report) over the
    scripted detector and embedder: fast, deterministic, no model files."""

    def __init__(self, frame_delay_s: float = 0.0) -> None:
        super().__init__()
        self.frame_delay_s = frame_delay_s

    def verify(self) -> None:
        """Nothing to check: no model files."""

    def load(self) -> None:
        detector = ColourSquareDetector()
        if self.frame_delay_s:  # slow enough for a test to act while it runs
            detect = detector.detect

            def slow_detect(image_rgb, max_side_px):
                time.sleep(self.frame_delay_s)
                return detect(image_rgb, max_side_px)

            detector.detect = slow_detect
        self.detector = detector
        self.embedder = ColourEmbedder()


two_people = TwoPeopleEngine()
two_people_slow = TwoPeopleEngine(frame_delay_s=0.05)
