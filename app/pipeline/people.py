"""Who gets hidden, for a whole video: reference photos + the analysis -> one decision per
track, and the tracks grouped into people (the review step's cards).

    IdentityOptions.policy == "all" and no review: no embedding at all (fastest).
    Otherwise: good crops kept during analysis -> FaceNet -> decide (fail closed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from app.pipeline import models
from app.pipeline.analysis import Analysis
from app.pipeline.decide import (DEFAULT_AMBIGUITY_MARGIN, DEFAULT_MIN_SIMILARITY, Policy,
                                 decide, decide_all)
from app.pipeline.detect import FaceDetector
from app.pipeline.embed import FaceEmbedder
from app.pipeline.types import TrackDecision


@dataclass(frozen=True)
class IdentityOptions:
    """policy: all | only (hide only the people in reference_paths) | keep (hide everyone
    except them). with_people: group tracks into people even for "all" (the review step)."""

    policy: Policy = Policy.ALL
    reference_paths: tuple[Path, ...] = ()
    min_similarity: float = DEFAULT_MIN_SIMILARITY
    ambiguity_margin: float = DEFAULT_AMBIGUITY_MARGIN
    with_people: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "policy", Policy(self.policy))
        object.__setattr__(self, "reference_paths", tuple(Path(p) for p in self.reference_paths))
        if self.policy is not Policy.ALL and not self.reference_paths:
            raise ValueError(f"policy {self.policy.value!r} needs at least one reference photo")
        if self.policy is Policy.ALL and self.reference_paths:
            raise ValueError("reference photos need the policy 'only' or 'keep'")

    @property
    def needs_embeddings(self) -> bool:
        return self.policy is not Policy.ALL or self.with_people


@dataclass(frozen=True)
class References:
    """Reference people: one (R, 512) array each, and the photos they came from."""

    people: list[np.ndarray] = field(default_factory=list)
    photos: list[dict] = field(default_factory=list)


def load_references(options: IdentityOptions, detector: FaceDetector,
                    embedder: FaceEmbedder | None) -> References:
    """Embed the reference photos (InputError with a sentence for a bad photo)."""
    from app.pipeline import identity

    if options.policy is Policy.ALL:
        return References()
    people = identity.load_references(options.reference_paths, detector, embedder)
    return References(people, reference_photos(options.reference_paths))


def reference_photos(paths: Sequence[Path]) -> list[dict]:
    """What the report records of the reference photos: file name and SHA-256."""
    return [{"file": p.name, "sha256": models.sha256_file(p)} for p in paths]


def decide_tracks(analysis: Analysis, options: IdentityOptions, references: References,
                  embedder: FaceEmbedder | None) -> list[TrackDecision]:
    """One decision per track (with person ids when embeddings were computed)."""
    if not options.needs_embeddings:
        return decide_all(analysis.tracks)
    from app.pipeline import identity

    embeddings = identity.embed_samples(analysis.samples, embedder)
    person_of = identity.group_tracks(embeddings, analysis.tracks, options.min_similarity)
    return decide(analysis.tracks, options.policy, embeddings, references.people,
                  options.min_similarity, options.ambiguity_margin, person_of)


def sample_collector(options: IdentityOptions):
    """The analysis hook that keeps good crops per track, or None when none are needed."""
    if not options.needs_embeddings:
        return None
    from app.pipeline.identity import SampleCollector

    return SampleCollector()


def with_samples(analysis: Analysis, collector) -> Analysis:
    return analysis if collector is None else replace(analysis, samples=collector.samples())


def people_cards(analysis: Analysis, decisions: Sequence[TrackDecision]) -> list[dict]:
    """One card per person for the review step: their tracks, when they appear (seconds),
    how many frames, the decision (hidden if any of their tracks is) and the reasons.

    Tracks without a person id are a person of their own.
    """
    by_track = {d.track_id: d for d in decisions}
    time_base = analysis.info.time_base
    cards: dict[object, dict] = {}
    for track in analysis.tracks:
        decision = by_track.get(track.track_id)
        key = decision.person_id if decision and decision.person_id is not None else f"t{track.track_id}"
        card = cards.setdefault(key, {"person_id": None if isinstance(key, str) else key,
                                      "tracks": [], "frames": 0, "appearances_s": []})
        start_s = float(analysis.pts[track.first_frame] * time_base)
        end_s = float(analysis.pts[track.last_frame] * time_base)
        card["tracks"].append({
            "track_id": track.track_id,
            "first_frame": track.first_frame, "last_frame": track.last_frame,
            "start_s": round(start_s, 3), "end_s": round(end_s, 3),
            "frames": len(track.frame_index),
            "blur": True if decision is None else decision.should_blur,
            "reason": "no decision: hidden" if decision is None else decision.reason,
            "similarity": None if decision is None or decision.similarity is None
            else round(decision.similarity, 4),
        })
        card["frames"] += len(track.frame_index)
        card["appearances_s"].append([round(start_s, 3), round(end_s, 3)])
    out = []
    for card in cards.values():
        card["blur"] = any(t["blur"] for t in card["tracks"])
        card["reasons"] = sorted({t["reason"] for t in card["tracks"]})
        out.append(card)
    out.sort(key=lambda c: c["tracks"][0]["first_frame"])
    return out
