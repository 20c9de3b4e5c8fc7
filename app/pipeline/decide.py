"""Who gets hidden: a pure function of the tracks, the job's policy and embeddings.

Veil does not judge people by their faces. Identity answers one question: *is this track
the person the editor pointed at* (reference photos)? Similarity is the cosine of
L2-normalised FaceNet embeddings (``app/pipeline/embed.py``).

Per track and reference person, each crop is compared with every reference photo of that
person and keeps its best match; the track's similarity is the median over its crops
(robust to one blurred or turned frame, see bench/RESULTS.md, section "identity"). A track is then

- a *match* when similarity >= min_similarity + ambiguity_margin,
- a *non-match* when similarity < min_similarity - ambiguity_margin,
- *ambiguous* in between.

Fail closed: in both modes a track without embeddings, or an ambiguous one, is blurred and
its reason says why. ``only``: blur matches, keep confident non-matches. ``keep``: keep
confident matches, blur everything else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

import numpy as np

from app.pipeline.types import Track, TrackDecision

# Calibrated on ../shared/eval/identity with bench/identity.py (see bench/RESULTS.md, section "identity").
DEFAULT_MIN_SIMILARITY = 0.45
DEFAULT_AMBIGUITY_MARGIN = 0.10


class Policy(StrEnum):
    ALL = "all"  # hide every face
    ONLY = "only"  # hide only the reference people
    KEEP = "keep"  # hide everyone except the reference people


def decide_all(tracks: Sequence[Track]) -> list[TrackDecision]:
    """Blur every track (the default policy)."""
    return [TrackDecision(t.track_id, True, "all faces") for t in tracks]


def _as_embeddings(array: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(array, np.float32)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"{name} has shape {array.shape}, expected (K, D)")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return array / np.maximum(norms, 1e-12)


def track_similarity(crop_embeddings: np.ndarray, reference_embeddings: np.ndarray) -> float:
    """Similarity of one track to one person: per crop the best cosine over the person's
    reference photos, then the median over crops. (K, D) x (R, D) -> float in -1..1."""
    crops = _as_embeddings(crop_embeddings, "crop_embeddings")
    refs = _as_embeddings(reference_embeddings, "reference_embeddings")
    if len(crops) == 0 or len(refs) == 0:
        raise ValueError("track_similarity needs at least one crop and one reference embedding")
    if crops.shape[1] != refs.shape[1]:
        raise ValueError(f"embedding sizes differ: {crops.shape[1]} vs {refs.shape[1]}")
    per_crop = (crops @ refs.T).max(axis=1)
    return float(np.median(per_crop))


def _check_thresholds(min_similarity: float, ambiguity_margin: float) -> None:
    if not -1.0 < min_similarity < 1.0:
        raise ValueError(f"min_similarity must be between -1 and 1, got {min_similarity!r}")
    if not 0.0 <= ambiguity_margin < 1.0:
        raise ValueError(f"ambiguity_margin must be between 0 and 1, got {ambiguity_margin!r}")


def decide(
    tracks: Sequence[Track],
    policy: Policy | str,
    track_embeddings: Mapping[int, np.ndarray],
    references: Sequence[np.ndarray],
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
    ambiguity_margin: float = DEFAULT_AMBIGUITY_MARGIN,
    person_of_track: Mapping[int, int] | None = None,
) -> list[TrackDecision]:
    """One decision per track, in the order of ``tracks``.

    track_embeddings: track id -> (K, 512) embeddings of its crops (missing or K=0: the
    track could not be embedded). references: one (R, 512) array per reference person
    (several photos of one person are rows of one array). person_of_track (optional, from
    ``identity.group_tracks``): sets ``person_id``; in ``only`` mode every track grouped with
    a matching track is blurred too (hides more, never less).
    ``similarity`` is the track's similarity to its closest reference person;
    the reason names that person as "reference N" (1-based, in the order given).
    """
    policy = Policy(policy)
    if policy is Policy.ALL:
        decisions = decide_all(tracks)
        if person_of_track is None:
            return decisions
        return [TrackDecision(d.track_id, d.should_blur, d.reason,
                              person_of_track.get(d.track_id)) for d in decisions]
    _check_thresholds(min_similarity, ambiguity_margin)
    if not references:
        raise ValueError(f"policy {policy.value!r} needs at least one reference person")
    refs = [_as_embeddings(r, f"references[{i}]") for i, r in enumerate(references)]
    if any(len(r) == 0 for r in refs):
        raise ValueError("every reference person needs at least one embedding")
    match_at = min_similarity + ambiguity_margin
    non_match_below = min_similarity - ambiguity_margin
    person_of_track = person_of_track or {}

    # First pass: classify each track on its own.
    verdicts: dict[int, tuple[str, int | None, float | None]] = {}
    for track in tracks:
        crops = track_embeddings.get(track.track_id)
        if crops is None or len(crops) == 0:
            verdicts[track.track_id] = ("none", None, None)
            continue
        sims = [track_similarity(crops, r) for r in refs]
        best = int(np.argmax(sims))
        sim = sims[best]
        kind = "match" if sim >= match_at else "non-match" if sim < non_match_below else "ambiguous"
        verdicts[track.track_id] = (kind, best, sim)

    matched_people = {
        person_of_track[tid]: tid for tid, (kind, _, _) in sorted(verdicts.items())
        if kind == "match" and tid in person_of_track
    }
    decisions = []
    for track in tracks:
        tid = track.track_id
        kind, best, sim = verdicts[tid]
        ref = f"reference {best + 1}" if best is not None else ""
        sim_text = f" (similarity {sim:.2f})" if sim is not None else ""
        if kind == "none":
            should_blur, reason = True, "no usable face crop to identify; hidden to be safe"
        elif kind == "ambiguous":
            should_blur = True
            reason = (f"unsure whether this is {ref}{sim_text}, between "
                      f"{non_match_below:.2f} and {match_at:.2f}; hidden to be safe")
        elif policy is Policy.ONLY:
            if kind == "match":
                should_blur, reason = True, f"matches {ref}{sim_text}"
            else:
                group = person_of_track.get(tid)
                twin = matched_people.get(group) if group is not None else None
                if twin is not None:
                    should_blur = True
                    reason = (f"grouped as the same person as track {twin}, which matches "
                              f"reference {verdicts[twin][1] + 1}; hidden to be safe")
                else:
                    should_blur, reason = False, f"not a reference person{sim_text}"
        else:  # KEEP
            if kind == "match":
                should_blur, reason = False, f"matches {ref}{sim_text}; kept visible"
            else:
                should_blur, reason = True, f"not a reference person{sim_text}"
        decisions.append(TrackDecision(tid, should_blur, reason, person_of_track.get(tid), sim))
    return decisions
