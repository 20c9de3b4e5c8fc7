"""The engine a worker runs: a thin adapter over app.pipeline, replaceable in tests.

An engine is named by an import spec ``"module:attribute"`` (the attribute is an engine
object or a zero-argument factory) so that worker processes started with 'spawn' can load
it by name.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from app.pipeline.progress import CancelFn, ProgressFn
from app.pipeline.types import TrackDecision, VideoInfo

if TYPE_CHECKING:
    from app.pipeline.analysis import Analysis
    from app.pipeline.people import IdentityOptions

DEFAULT_ENGINE = "app.jobs.engine:PipelineEngine"


class Engine(Protocol):
    def load(self) -> None:
        """Load models; called once in each worker process before its first job."""

    def probe(self, path: Path) -> VideoInfo:
        """What the file holds; raises InputError (one sentence) when it is not a usable video."""

    def anonymize(self, input_path: Path, output_path: Path, options: dict, *,
                  progress: ProgressFn, should_cancel: CancelFn) -> dict:
        """Write the anonymised video to output_path (atomically) and return the report."""


class TwoPassEngine(Engine, Protocol):
    """An engine that can stop between the passes (identity policies, the review step)."""

    def analyse(self, input_path: Path, options: dict, reference_paths: Sequence[Path], *,
                progress: ProgressFn, should_cancel: CancelFn
                ) -> tuple[Analysis, list[TrackDecision]]:
        """Find, track and (when needed) identify faces; one decision per track. Raises
        InputError (one sentence) for a bad reference photo, before reading the video."""

    def render(self, input_path: Path, output_path: Path, analysis: Analysis | dict,
               decisions: list[TrackDecision], options: dict, reference_paths: Sequence[Path],
               *, progress: ProgressFn, should_cancel: CancelFn, timing: dict) -> dict:
        """Hide the tracks decided so, using the analysis (or a saved one,
        Analysis.to_dict()); returns the report."""


def needs_two_passes(options: dict) -> bool:
    """Jobs with a policy other than "all" or with the review step run analyse + render."""
    return options.get("policy", "all") != "all" or bool(options.get("review"))


def identity_options(options: dict, reference_paths: Sequence[Path]) -> IdentityOptions:
    from app.pipeline.people import IdentityOptions

    policy = options.get("policy", "all")
    return IdentityOptions(policy=policy,
                           reference_paths=tuple(reference_paths) if policy != "all" else (),
                           with_people=bool(options.get("review")))


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
    """The real engine: detection (CenterFace, YuNet), tracking and redaction from app.pipeline."""

    def __init__(self) -> None:
        self.detector = None
        self.full_res_detector = None
        self.embedder = None

    def verify(self) -> None:
        """Raise ModelError (one sentence) when a model file is missing or altered."""
        from app.pipeline.models import verify_models

        verify_models()

    def load(self) -> None:
        from app.pipeline.anonymize import load_detector, load_full_res_detector
        from app.pipeline.types import AnonymizeOptions

        self.detector = load_detector(AnonymizeOptions())
        self.full_res_detector = load_full_res_detector(AnonymizeOptions())

    def probe(self, path: Path) -> VideoInfo:
        """The upload check, run in the web process: container and stream headers only (the
        web process never decodes video; the worker's full probe decodes the first frame)."""
        from app.pipeline.decode import probe_video

        return probe_video(path, decode_first_frame=False)

    @staticmethod
    def _probe_full(path: Path) -> VideoInfo:
        from app.pipeline.decode import probe_video

        return probe_video(path)

    def anonymize(self, input_path: Path, output_path: Path, options: dict, *,
                  progress: ProgressFn, should_cancel: CancelFn) -> dict:
        from app.pipeline.anonymize import anonymize_video

        if self.detector is None:
            self.load()
        return anonymize_video(input_path, output_path, build_options(options),
                               detector=self.detector,
                               full_res_detector=self.full_res_detector, progress=progress,
                               should_cancel=should_cancel)

    def _embedder(self, identity: IdentityOptions):
        """FaceNet (TensorFlow, slow to load) only for the jobs that need it, once per worker."""
        if identity.needs_embeddings and self.embedder is None:
            from app.pipeline.anonymize import load_embedder

            self.embedder = load_embedder()
        return self.embedder

    def analyse(self, input_path: Path, options: dict, reference_paths: Sequence[Path], *,
                progress: ProgressFn, should_cancel: CancelFn
                ) -> tuple[Analysis, list[TrackDecision]]:
        from app.pipeline.anonymize import analyse_and_decide
        from app.pipeline.people import load_references

        if self.detector is None:
            self.load()
        identity = identity_options(options, reference_paths)
        embedder = self._embedder(identity)
        references = load_references(identity, self.detector, embedder)  # a bad photo fails first
        return analyse_and_decide(input_path, build_options(options), identity,
                                  detector=self.detector,
                                  full_res_detector=self.full_res_detector, embedder=embedder,
                                  references=references, progress=progress,
                                  should_cancel=should_cancel, info=self._probe_full(input_path))

    def render(self, input_path: Path, output_path: Path, analysis: Analysis | dict,
               decisions: list[TrackDecision], options: dict, reference_paths: Sequence[Path],
               *, progress: ProgressFn, should_cancel: CancelFn, timing: dict) -> dict:
        from app.pipeline.analysis import Analysis
        from app.pipeline.anonymize import render_video, video_report
        from app.pipeline.people import References, reference_photos

        if isinstance(analysis, dict):
            analysis = Analysis.from_dict(self._probe_full(input_path), analysis)
        anonymize_options = build_options(options)
        started = time.monotonic()
        frames = render_video(input_path, output_path, analysis, decisions, anonymize_options,
                              progress=progress, should_cancel=should_cancel)
        render_s = time.monotonic() - started
        timing = {**timing, "render_s": round(render_s, 3),
                  "render_fps": round(frames / max(render_s, 1e-9), 2)}
        identity = identity_options(options, reference_paths)
        # The embeddings are not needed to write the report: only which photos were used.
        references = References([], reference_photos(identity.reference_paths))
        return video_report(input_path, output_path, analysis, decisions, anonymize_options,
                            timing, identity, references)
