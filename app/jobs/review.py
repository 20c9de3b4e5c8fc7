"""The review step's saved state: the analysis, the decisions as decided, the editor's
overrides and one card per person (with face thumbnails), all in the job's folder.

review.json holds:
    decisions  [TrackDecision as dict]      as the engine decided them (never edited)
    overrides  {track id: should_blur}      the editor's changes (only where they differ)
    people     [card]                       app.pipeline.people.people_cards + thumbnails

The web process reads and edits review.json (under its own lock); the worker writes it once
when the analysis ends and reads it when the render starts.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import cv2

from app.jobs.files import JobFiles, write_json_atomic
from app.pipeline.analysis import Analysis
from app.pipeline.people import people_cards
from app.pipeline.types import TrackDecision

THUMBNAILS_PER_TRACK = 3
THUMBNAILS_PER_PERSON = 4
EDITOR_HIDE = "editor chose to hide"
EDITOR_SHOW = "editor chose to show"


class ReviewError(LookupError):
    """No such person or track in this job's review; ``str()`` is the sentence."""


def save_review(files: JobFiles, analysis: Analysis, decisions: list[TrackDecision]) -> None:
    """Write the thumbnails, the analysis and review.json (the last one written: its presence
    means the analysis is complete)."""
    thumbnails: dict[int, list[int]] = {}
    for sample in analysis.samples:  # best first per track
        kept = thumbnails.setdefault(sample.track_id, [])
        if len(kept) >= THUMBNAILS_PER_TRACK:
            continue
        path = files.thumbnail(sample.track_id, len(kept))
        path.parent.mkdir(parents=True, exist_ok=True)
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(sample.crop_rgb, cv2.COLOR_RGB2BGR),
                                [cv2.IMWRITE_JPEG_QUALITY, 85])
        if ok:
            path.write_bytes(data.tobytes())
            kept.append(len(kept))
    people = people_cards(analysis, decisions)
    for number, card in enumerate(people, start=1):
        card["key"] = (str(card["person_id"]) if card["person_id"] is not None
                       else f"track-{card['tracks'][0]['track_id']}")
        card["number"] = number
        for track in card["tracks"]:
            track["thumbnails"] = thumbnails.get(track["track_id"], [])
    write_json_atomic(files.analysis, analysis.to_dict())
    write_json_atomic(files.review, {"decisions": [asdict(d) for d in decisions],
                                     "overrides": {}, "people": people})


def load_review(files: JobFiles) -> dict:
    return json.loads(files.review.read_text())


def load_analysis_data(files: JobFiles) -> dict:
    return json.loads(files.analysis.read_text())


def has_review(files: JobFiles) -> bool:
    return files.review.is_file() and files.analysis.is_file()


def _overrides(review: dict) -> dict[int, bool]:
    return {int(k): bool(v) for k, v in review.get("overrides", {}).items()}


def final_decisions(review: dict) -> list[TrackDecision]:
    """The decisions with the editor's overrides applied (reason says the editor chose)."""
    overrides = _overrides(review)
    out = []
    for data in review["decisions"]:
        decision = TrackDecision(**data)
        if decision.track_id in overrides:
            blur = overrides[decision.track_id]
            decision = replace(decision, should_blur=blur,
                               reason=EDITOR_HIDE if blur else EDITOR_SHOW)
        out.append(decision)
    return out


def people(review: dict, thumbnail_url: str) -> list[dict]:
    """The cards with the current decisions. thumbnail_url: a format string with
    {track_id} and {index}."""
    by_track = {d.track_id: d for d in final_decisions(review)}
    original = {d["track_id"]: d for d in review["decisions"]}
    overrides = _overrides(review)
    cards = []
    for stored in review["people"]:
        tracks = []
        for t in stored["tracks"]:
            decision = by_track.get(t["track_id"])
            blur = True if decision is None else decision.should_blur
            decided = original.get(t["track_id"])
            tracks.append({
                **{k: v for k, v in t.items() if k != "thumbnails"},
                "blur": blur,
                "reason": t["reason"] if decision is None else decision.reason,
                "decided_blur": True if decided is None else decided["should_blur"],
                "decided_reason": t["reason"],
                "is_override": t["track_id"] in overrides,
                "thumbnails": [thumbnail_url.format(track_id=t["track_id"], index=i)
                               for i in t["thumbnails"]],
            })
        thumbs = [u for t in tracks for u in t["thumbnails"][:1]]
        thumbs += [u for t in tracks for u in t["thumbnails"][1:]]
        cards.append({
            "key": stored["key"], "number": stored["number"],
            "person_id": stored["person_id"],
            "frames": stored["frames"], "appearances_s": stored["appearances_s"],
            # A person is hidden when any of their tracks is (fail closed).
            "blur": any(t["blur"] for t in tracks),
            "reasons": sorted({t["reason"] for t in tracks}),
            "thumbnails": thumbs[:THUMBNAILS_PER_PERSON],
            "tracks": tracks,
        })
    return cards


def _set(review: dict, track_ids: list[int], blur: bool) -> None:
    original = {d["track_id"]: d["should_blur"] for d in review["decisions"]}
    overrides = _overrides(review)
    for track_id in track_ids:
        if original.get(track_id, True) == blur:
            overrides.pop(track_id, None)
        else:
            overrides[track_id] = blur
    review["overrides"] = {str(k): v for k, v in sorted(overrides.items())}


def set_person(review: dict, key: str, blur: bool) -> None:
    card = next((c for c in review["people"] if c["key"] == key), None)
    if card is None:
        raise ReviewError(f"There is no person {key!r} in this job.")
    _set(review, [t["track_id"] for t in card["tracks"]], blur)


def set_track(review: dict, track_id: int, blur: bool) -> None:
    if not any(d["track_id"] == track_id for d in review["decisions"]):
        raise ReviewError(f"There is no face track {track_id} in this job.")
    _set(review, [track_id], blur)


def save_edits(files: JobFiles, review: dict) -> None:
    write_json_atomic(files.review, review)


def annotate_report(report: dict, review: dict) -> dict:
    """Record in the report what the engine had decided where the editor changed it."""
    overrides = _overrides(review)
    original = {d["track_id"]: d for d in review["decisions"]}
    for track in report.get("tracks", []):
        if track.get("id") in overrides:
            decided = original[track["id"]]
            track["decided"] = {"decision": "blur" if decided["should_blur"] else "keep",
                                "reason": decided["reason"]}
    report["review"] = {"overrides": len(overrides)}
    return report

