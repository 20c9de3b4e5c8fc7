"""Progress reporting and cancellation, shared by the CLI, the web worker and benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from app.pipeline.errors import Cancelled


@dataclass(frozen=True)
class Progress:
    """stage: "analysing" or "rendering" (or "images" for stills).

    fraction is the whole job's progress in 0..1 (analysis counts for ``ANALYSE_SHARE``).
    """

    stage: str
    frames_done: int
    frames_total: int
    fps: float
    eta_s: float | None
    fraction: float


ProgressFn = Callable[[Progress], None]
CancelFn = Callable[[], bool]
ANALYSE_SHARE = 0.6


class ProgressMeter:
    """Counts frames for one stage and calls ``callback`` at most every ``interval_s``."""

    def __init__(self, stage: str, frames_total: int, callback: ProgressFn | None,
                 should_cancel: CancelFn | None, start_fraction: float, stage_share: float,
                 interval_s: float = 0.25) -> None:
        self.stage = stage
        self.frames_total = max(frames_total, 1)
        self.callback = callback
        self.should_cancel = should_cancel
        self.start_fraction = start_fraction
        self.stage_share = stage_share
        self.interval_s = interval_s
        self.started = time.monotonic()
        self.last_report = 0.0
        self.frames_done = 0

    def advance(self, frames: int = 1) -> None:
        self.frames_done += frames
        now = time.monotonic()
        if now - self.last_report >= self.interval_s:
            self.last_report = now
            if self.should_cancel is not None and self.should_cancel():
                raise Cancelled("The job was cancelled.")
            self.report()

    def report(self, final: bool = False) -> None:
        if self.callback is None:
            return
        elapsed = max(time.monotonic() - self.started, 1e-6)
        total = self.frames_done if final else max(self.frames_total, self.frames_done)
        fps = self.frames_done / elapsed
        remaining = max(total - self.frames_done, 0)
        eta = remaining / fps if fps > 0 else None
        share = min(self.frames_done / max(total, 1), 1.0)
        self.callback(Progress(self.stage, self.frames_done, total, round(fps, 2),
                               None if eta is None else round(eta, 1),
                               round(self.start_fraction + self.stage_share * share, 4)))
