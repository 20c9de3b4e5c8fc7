"""Identity: reference photos to embeddings, good crops per track, and tracks grouped into
people.

Veil never judges people by their faces; this only answers "is this the person the editor
pointed at?" (see app/pipeline/decide.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from app.pipeline.align import align_face, face_quality, has_landmarks
from app.pipeline.decide import DEFAULT_MIN_SIMILARITY
from app.pipeline.detect import FaceDetector, detect_multiscale
from app.pipeline.embed import FaceEmbedder, l2_normalise
from app.pipeline.errors import InputError
from app.pipeline.images import read_image
from app.pipeline.types import FaceBoxes, FaceSample, Track

log = logging.getLogger(__name__)

# A reference photo's faces: which count, and when one face is clearly the subject.
REFERENCE_MIN_SCORE = 0.5
REFERENCE_MIN_FACE_PX = 24
# Accept a photo with several faces only when the largest is at least this many times the
# area of the next (about twice as wide): a portrait with a small face in the background,
# not a group photo where the wrong person could be picked.
REFERENCE_DOMINANT_AREA_RATIO = 4.0
REFERENCE_MAX_SIDES_PX = (640, 1280)

# Crops kept per track for identity, and how far apart (frames) they must be.
SAMPLES_PER_TRACK = 5
MIN_SAMPLE_GAP_FRAMES = 5
MIN_SAMPLE_QUALITY = 0.05


def read_image_rgb(path: Path | str) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a reference photo; InputError with one sentence when the file is
    missing or not an image."""
    image = read_image(Path(path), label="Reference photo")
    return np.ascontiguousarray(image[..., :3])


def _box_areas(xyxy: np.ndarray) -> np.ndarray:
    return np.clip(xyxy[:, 2] - xyxy[:, 0], 0, None) * np.clip(xyxy[:, 3] - xyxy[:, 1], 0, None)


def pick_reference_face(faces: FaceBoxes, name: str) -> int:
    """Index of the one face a reference photo shows, or InputError with a sentence.

    Counts faces with score >= REFERENCE_MIN_SCORE and at least REFERENCE_MIN_FACE_PX wide.
    Several faces are accepted only when the largest is REFERENCE_DOMINANT_AREA_RATIO
    times the area of the next.
    """
    sides = np.minimum(faces.xyxy[:, 2] - faces.xyxy[:, 0], faces.xyxy[:, 3] - faces.xyxy[:, 1])
    usable = np.flatnonzero((faces.score >= REFERENCE_MIN_SCORE) & (sides >= REFERENCE_MIN_FACE_PX))
    if len(usable) == 0:
        raise InputError(f"No face found in reference photo {name!r}; please use a photo "
                         "showing one face, clearly and from the front.")
    if len(usable) == 1:
        return int(usable[0])
    areas = _box_areas(faces.xyxy[usable])
    order = np.argsort(-areas)
    if areas[order[0]] >= REFERENCE_DOMINANT_AREA_RATIO * areas[order[1]]:
        log.info("reference %s: %d faces, using the largest (%.1fx the next)", name,
                 len(usable), areas[order[0]] / max(areas[order[1]], 1.0))
        return int(usable[order[0]])
    raise InputError(f"Found {len(usable)} faces of similar size in reference photo {name!r}; "
                     "please use a photo of one face (crop it to that person).")


def reference_crop(image_rgb: np.ndarray, detector: FaceDetector, name: str = "photo") -> np.ndarray:
    """The aligned (160, 160, 3) uint8 crop of the one face in a reference image."""
    long_side = max(image_rgb.shape[:2])
    sides = tuple(sorted({min(s, long_side) for s in REFERENCE_MAX_SIDES_PX}))
    faces = detect_multiscale(detector, image_rgb, sides)
    index = pick_reference_face(faces, name)
    landmarks = faces.landmarks[index]
    if not has_landmarks(landmarks):
        raise InputError(f"The face in reference photo {name!r} could not be aligned; please "
                         "use a photo showing one face from the front.")
    return align_face(image_rgb, landmarks)


def load_reference(path: Path | str, detector: FaceDetector, embedder: FaceEmbedder) -> np.ndarray:
    """(512,) float32 unit embedding of the one face in a reference photo.

    Raises InputError (one sentence) for a missing or unreadable file, no face, or several
    faces of similar size.
    """
    path = Path(path)
    crop = reference_crop(read_image_rgb(path), detector, path.name)
    return l2_normalise(embedder.embed(crop[None]))[0]


def load_references(paths: Sequence[Path | str], detector: FaceDetector,
                    embedder: FaceEmbedder) -> list[np.ndarray]:
    """One (R, 512) array per reference person.

    Each photo is one person unless photos of the same person are recognised as such: photos
    whose embeddings match each other (>= DEFAULT_MIN_SIMILARITY, average linkage) are grouped,
    so ``--only a1.jpg --only a2.jpg --only b.jpg`` gives two people. Grouping only changes how
    reasons are worded; every photo is compared either way.
    """
    if not paths:
        return []
    embeddings = np.stack([load_reference(p, detector, embedder) for p in paths])
    groups = group_embeddings(embeddings, DEFAULT_MIN_SIMILARITY)
    return [embeddings[groups == g] for g in range(int(groups.max()) + 1)]


def group_embeddings(embeddings: np.ndarray, min_similarity: float,
                     cannot_link: np.ndarray | None = None) -> np.ndarray:
    """Average-linkage agglomerative clustering of (N, D) unit vectors by cosine similarity.

    Merges the most similar pair of clusters while their mean pairwise similarity is
    >= min_similarity. cannot_link: optional (N, N) bool, True where two items must not end
    in one cluster (e.g. two tracks visible in the same frame). Returns (N,) int64 cluster
    ids numbered 0.. in order of each cluster's first item.
    """
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, np.int64)
    vectors = l2_normalise(np.asarray(embeddings, np.float32))
    sim = (vectors @ vectors.T).astype(np.float64)
    forbid = np.zeros((n, n), bool) if cannot_link is None else np.asarray(cannot_link, bool).copy()
    clusters: list[list[int]] = [[i] for i in range(n)]
    # Cluster-level similarity sums and counts, kept up to date as clusters merge.
    sum_sim = sim.copy()
    count = np.ones((n, n))
    alive = np.ones(n, bool)
    while True:
        mean = np.where(alive[:, None] & alive[None, :] & ~forbid, sum_sim / count, -np.inf)
        np.fill_diagonal(mean, -np.inf)
        a, b = np.unravel_index(int(np.argmax(mean)), mean.shape)
        if mean[a, b] < min_similarity:
            break
        a, b = min(a, b), max(a, b)
        clusters[a] += clusters[b]
        clusters[b] = []
        alive[b] = False
        sum_sim[a, :] += sum_sim[b, :]
        sum_sim[:, a] = sum_sim[a, :]
        count[a, :] += count[b, :]
        count[:, a] = count[a, :]
        forbid[a, :] |= forbid[b, :]
        forbid[:, a] = forbid[a, :]
    labels = np.zeros(n, np.int64)
    firsts = sorted(min(c) for c in clusters if c)
    for label, first in enumerate(firsts):
        cluster = next(c for c in clusters if c and min(c) == first)
        labels[cluster] = label
    return labels


def tracks_overlap(tracks: Sequence[Track]) -> np.ndarray:
    """(N, N) bool: True where two tracks share a frame (so cannot be one person)."""
    first = np.array([t.first_frame for t in tracks])
    last = np.array([t.last_frame for t in tracks])
    overlap = (first[:, None] <= last[None, :]) & (first[None, :] <= last[:, None])
    np.fill_diagonal(overlap, False)
    return overlap


def group_tracks(track_embeddings: Mapping[int, np.ndarray], tracks: Sequence[Track] | None = None,
                 min_similarity: float = DEFAULT_MIN_SIMILARITY) -> dict[int, int]:
    """Track id -> person id (0..), grouping tracks of one person across cuts and re-entries.

    track_embeddings: track id -> (K, 512) crop embeddings. Each track is represented by
    the normalised mean of its crops. Tracks without embeddings get a person of their own.
    With ``tracks`` given, two tracks that share a frame are never grouped.
    Person ids are numbered in order of track id.
    """
    track_ids = sorted(track_embeddings) if tracks is None else sorted(t.track_id for t in tracks)
    with_emb = [tid for tid in track_ids
                if track_embeddings.get(tid) is not None and len(track_embeddings[tid])]
    cannot_link = None
    if tracks is not None and with_emb:
        by_id = {t.track_id: t for t in tracks}
        cannot_link = tracks_overlap([by_id[tid] for tid in with_emb])
    labels = np.zeros(0, np.int64)
    if with_emb:
        means = np.stack([l2_normalise(np.asarray(track_embeddings[tid])).mean(axis=0)
                          for tid in with_emb])
        labels = group_embeddings(means, min_similarity, cannot_link)
    label_of = dict(zip(with_emb, labels.tolist()))
    person_of: dict[int, int] = {}
    renumber: dict[tuple, int] = {}
    for tid in track_ids:
        key = ("group", label_of[tid]) if tid in label_of else ("alone", tid)
        person_of[tid] = renumber.setdefault(key, len(renumber))
    return person_of


class SampleCollector:
    """Keeps the best few aligned crops per track during the analysis pass.

    Call it on every detection frame (it matches ``anonymize.analyse_video``'s ``on_faces``
    hook): ``collector(frame_index, image_rgb, faces, track_ids)``. It aligns a face only
    when it would be kept, so the cost is a few warps per track. Kept samples are at least
    ``min_gap_frames`` apart (a new, better one replaces a near neighbour).
    """

    def __init__(self, per_track: int = SAMPLES_PER_TRACK,
                 min_gap_frames: int = MIN_SAMPLE_GAP_FRAMES,
                 min_quality: float = MIN_SAMPLE_QUALITY) -> None:
        if per_track < 1:
            raise ValueError(f"per_track must be >= 1, got {per_track!r}")
        self.per_track = per_track
        self.min_gap_frames = min_gap_frames
        self.min_quality = min_quality
        self._kept: dict[int, list[FaceSample]] = {}

    def __call__(self, frame_index: int, image_rgb: np.ndarray, faces: FaceBoxes,
                 track_ids: np.ndarray) -> None:
        for i, track_id in enumerate(np.asarray(track_ids).tolist()):
            if track_id is None or track_id < 0 or not has_landmarks(faces.landmarks[i]):
                continue
            quality = face_quality(faces.xyxy[i], faces.landmarks[i], float(faces.score[i]))
            if quality >= self.min_quality:
                self._offer(int(track_id), frame_index, quality, image_rgb, faces.landmarks[i])

    def _offer(self, track_id: int, frame_index: int, quality: float, image_rgb: np.ndarray,
               landmarks: np.ndarray) -> None:
        kept = self._kept.setdefault(track_id, [])
        near = [s for s in kept if abs(s.frame_index - frame_index) < self.min_gap_frames]
        if near:
            victim = min(near, key=lambda s: s.quality)
        elif len(kept) >= self.per_track:
            victim = min(kept, key=lambda s: s.quality)
        else:
            victim = None
        if victim is not None and victim.quality >= quality:
            return
        try:
            crop = align_face(image_rgb, landmarks)
        except ValueError:
            return
        if victim is not None:
            kept.remove(victim)
        kept.append(FaceSample(track_id, frame_index, quality, crop))

    def samples(self, track_id_map: Mapping[int, int] | None = None) -> list[FaceSample]:
        """All kept samples, best first per track. track_id_map renames tracker ids to final
        track ids when they differ (samples whose id is not in the map are dropped)."""
        out = []
        for tid, kept in sorted(self._kept.items()):
            final = tid if track_id_map is None else track_id_map.get(tid)
            if final is None:
                continue
            for s in sorted(kept, key=lambda s: -s.quality):
                out.append(FaceSample(final, s.frame_index, s.quality, s.crop_rgb))
        return out


def embed_samples(samples: Sequence[FaceSample], embedder: FaceEmbedder) -> dict[int, np.ndarray]:
    """Track id -> (K, 512) embeddings of its samples, all crops in one batched call."""
    if not samples:
        return {}
    embeddings = embedder.embed(np.stack([s.crop_rgb for s in samples]))
    by_track: dict[int, list[np.ndarray]] = {}
    for sample, embedding in zip(samples, embeddings):
        by_track.setdefault(sample.track_id, []).append(embedding)
    return {tid: np.stack(rows).astype(np.float32) for tid, rows in by_track.items()}
