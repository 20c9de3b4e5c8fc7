"""The engine a worker runs: a thin adapter over app.pipeline, replaceable in tests.

An engine is named by an import spec ``"module:attribute"`` (the attribute is an engine
object or a zero-argument factory) so that worker processes started with 'spawn' can load
it by name.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol

from app.pipeline.progress import CancelFn, ProgressFn
from app.pipeline.types import VideoInfo

DEFAULT_ENGINE = "app.jobs.engine:PipelineEngine"


class Engine(Protocol):
    def load(self) -> None:
        """Load models; called once in each worker process before its first job."""

    def probe(self, path: Path) -> VideoInfo:
        """What the file holds; raises InputError (one sentence) when it is not a usable video."""

    def anonymize(self, input_path: Path, output_path: Path, options: dict, *,
                  progress: ProgressFn, should_cancel: CancelFn) -> dict:
        """Write the anonymised video to output_path (atomically) and return the report."""


def load_engine(spec: str) -> Engine:
    module_name, _, attribute = spec.partition(":")
    target = getattr(importlib.import_module(module_name), attribute or "engine")
    return target() if isinstance(target, type) or not hasattr(target, "anonymize") else target


def build_options(options: dict):
    """AnonymizeOptions from the job's options JSON (unknown keys are for later features)."""
    from app.pipeline.types import AnonymizeOptions, DetectOptions, RedactOptions

    redact = RedactOptions(**{k: options[k] for k in ("style", "shape") if k in options})
    detect = DetectOptions(**({"min_score": options["min_score"]} if "min_score" in options else {}))
    return AnonymizeOptions(detect=detect, redact=redact)


class PipelineEngine:
    """The real engine: CenterFace detection, tracking and redaction from app.pipeline."""

    def __init__(self) -> None:
        self.detector = None

    def verify(self) -> None:
        """Raise ModelError (one sentence) when a model file is missing or altered."""
        from app.pipeline.models import verify_models

        verify_models()

    def load(self) -> None:
        from app.pipeline.detect import CenterFace

        self.detector = CenterFace()

    def probe(self, path: Path) -> VideoInfo:
        from app.pipeline.decode import probe_video

        return probe_video(path)

    def anonymize(self, input_path: Path, output_path: Path, options: dict, *,
                  progress: ProgressFn, should_cancel: CancelFn) -> dict:
        from app.pipeline.anonymize import anonymize_video

        if self.detector is None:
            self.load()
        return anonymize_video(input_path, output_path, build_options(options),
                               detector=self.detector, progress=progress,
                               should_cancel=should_cancel)
