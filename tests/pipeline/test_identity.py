import csv

import cv2
import numpy as np
import pytest

from app.pipeline import models
from app.pipeline.align import landmark_template
from app.pipeline.errors import InputError, ModelError
from app.pipeline.identity import (
    SampleCollector,
    embed_samples,
    group_tracks,
    load_reference,
    load_references,
    pick_reference_face,
    read_image_rgb,
)
from app.pipeline.types import FaceBoxes, FaceSample, Track

D = 512
E = np.eye(D, dtype=np.float32)


def _faces(boxes, score=0.9, landmarks=True):
    xyxy = np.asarray(boxes, np.float32).reshape(-1, 4)
    lm = np.stack([landmark_template(160) / 160 * (b[2] - b[0]) + b[:2] for b in xyxy])
    if not landmarks:
        lm = np.full_like(lm, np.nan)
    return FaceBoxes(xyxy, np.full(len(xyxy), score, np.float32), lm.astype(np.float32))


class FakeDetector:
    def __init__(self, faces):
        self.faces = faces

    def detect(self, image_rgb, max_side_px):
        h, w = image_rgb.shape[:2]
        f = max_side_px / max(h, w)
        return FaceBoxes(self.faces.xyxy * f, self.faces.score, self.faces.landmarks * f)


class FakeEmbedder:
    """Embedding = one-hot on the crop's mean brightness bucket: same picture, same vector."""

    def __init__(self):
        self.calls = []

    def embed(self, crops_rgb):
        self.calls.append(len(crops_rgb))
        out = np.zeros((len(crops_rgb), D), np.float32)
        for i, crop in enumerate(crops_rgb):
            out[i, int(crop.mean()) % D] = 1.0
        return out


def _write_photo(path, size_hw=(300, 240), value=120):
    image = np.full((*size_hw, 3), value, np.uint8)
    assert cv2.imwrite(str(path), image)
    return path


@pytest.mark.parametrize("boxes, expected", [
    ([[10, 10, 110, 110]], 0),
    ([[0, 0, 30, 30], [50, 50, 200, 200]], 1),  # small face in the background
])
def test_pick_reference_face_single_or_dominant(boxes, expected):
    assert pick_reference_face(_faces(boxes), "me.jpg") == expected


def test_pick_reference_face_no_face_sentence():
    with pytest.raises(InputError, match=r"No face found in reference photo 'me.jpg'; please use"):
        pick_reference_face(FaceBoxes.empty(), "me.jpg")
    # Faint or tiny detections do not count as faces.
    with pytest.raises(InputError, match="No face found"):
        pick_reference_face(_faces([[10, 10, 110, 110]], score=0.2), "me.jpg")
    with pytest.raises(InputError, match="No face found"):
        pick_reference_face(_faces([[10, 10, 20, 20]]), "me.jpg")


def test_pick_reference_face_group_photo_sentence():
    boxes = [[0, 0, 100, 100], [120, 0, 200, 80], [220, 0, 300, 90]]
    with pytest.raises(InputError, match=r"Found 3 faces .* 'group.png'; please use a photo of one face"):
        pick_reference_face(_faces(boxes), "group.png")


def test_load_reference_embeds_the_aligned_face(tmp_path):
    path = _write_photo(tmp_path / "me.jpg")
    embedder = FakeEmbedder()
    embedding = load_reference(path, FakeDetector(_faces([[40, 60, 200, 220]])), embedder)
    assert embedding.shape == (D,) and embedding[120] == pytest.approx(1.0)
    assert embedder.calls == [1]


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    (b"", "not an image"),
    (b"hello, not a picture", "not an image"),
])
def test_load_reference_bad_files(tmp_path, content, message):
    path = tmp_path / "ref.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as caught:
        load_reference(path, FakeDetector(FaceBoxes.empty()), FakeEmbedder())
    assert "'ref.png'" in str(caught.value)


def test_load_reference_face_without_landmarks(tmp_path):
    path = _write_photo(tmp_path / "me.png")
    with pytest.raises(InputError, match="could not be aligned"):
        load_reference(path, FakeDetector(_faces([[40, 60, 200, 220]], landmarks=False)),
                       FakeEmbedder())


def test_read_image_finds_webp_by_content(tmp_path):
    ok, data = cv2.imencode(".webp", np.full((20, 30, 3), (10, 20, 30), np.uint8))
    path = tmp_path / "really-webp.jpg"
    path.write_bytes(data.tobytes())
    image = read_image_rgb(path)
    assert image.shape == (20, 30, 3)
    assert np.abs(image[10, 10].astype(int) - (30, 20, 10)).max() <= 3  # BGR written, RGB read


def test_load_references_groups_photos_of_one_person(tmp_path):
    paths = [_write_photo(tmp_path / f"{i}.png", value=v) for i, v in enumerate((100, 150, 100))]
    refs = load_references(paths, FakeDetector(_faces([[40, 60, 200, 220]])), FakeEmbedder())
    assert [len(r) for r in refs] == [2, 1]


def _track(track_id, first, last):
    n = last - first + 1
    return Track(track_id, np.arange(first, last + 1), np.zeros((n, 4), np.float32),
                 np.ones(n, np.float32), np.ones(n, bool))


def test_group_tracks_people_across_reentries():
    embeddings = {1: np.stack([E[0], E[0]]), 2: E[1][None], 3: np.stack([E[0], 0.9 * E[0] + 0.3 * E[2]]),
                  4: np.zeros((0, D)), 5: E[1][None]}
    tracks = [_track(1, 0, 10), _track(2, 0, 10), _track(3, 20, 30), _track(4, 20, 30),
              _track(5, 40, 50)]
    person = group_tracks(embeddings, tracks)
    assert person[1] == person[3] and person[2] == person[5]
    assert len({person[1], person[2], person[4]}) == 3
    assert sorted(set(person.values())) == [0, 1, 2]


def test_group_tracks_never_merges_tracks_seen_together():
    embeddings = {1: E[0][None], 2: E[0][None]}  # look alike (twins, a mirror)
    assert group_tracks(embeddings, [_track(1, 0, 10), _track(2, 5, 15)]) == {1: 0, 2: 1}
    assert group_tracks(embeddings) == {1: 0, 2: 0}


def test_sample_collector_keeps_best_spread_crops():
    collector = SampleCollector(per_track=2, min_gap_frames=5)
    image = np.zeros((400, 400, 3), np.uint8)
    for frame, side in [(0, 60), (1, 100), (10, 70), (20, 50), (30, 90)]:
        faces = _faces([[10, 10, 10 + side, 10 + side]])
        collector(frame, image, faces, np.array([7]))
    collector(40, image, _faces([[10, 10, 200, 200]], landmarks=False), np.array([7]))
    samples = collector.samples()
    assert [(s.track_id, s.frame_index) for s in samples] == [(7, 1), (7, 30)]
    assert all(s.crop_rgb.shape == (160, 160, 3) for s in samples)
    assert collector.samples({7: 3})[0].track_id == 3


def test_embed_samples_one_batch_grouped_by_track():
    crops = [np.full((160, 160, 3), v, np.uint8) for v in (1, 2, 3)]
    samples = [FaceSample(4, 0, 1.0, crops[0]), FaceSample(9, 0, 1.0, crops[1]),
               FaceSample(4, 9, 0.5, crops[2])]
    embedder = FakeEmbedder()
    by_track = embed_samples(samples, embedder)
    assert embedder.calls == [3]
    assert by_track[4].shape == (2, D) and by_track[9].shape == (1, D)
    assert embed_samples([], embedder) == {}


@pytest.fixture(scope="module")
def real_models():
    try:
        models.model_path(models.FACENET)
        models.model_path(models.CENTERFACE)
    except ModelError as error:
        pytest.skip(f"models are not installed here: {error}")
    from app.pipeline.detect import CenterFace
    from app.pipeline.embed import FaceNetEmbedder

    embedder = FaceNetEmbedder()
    yield CenterFace(), embedder
    embedder.close()


@pytest.mark.models
@pytest.mark.eval
def test_reference_photos_verify_on_deepface_pairs(real_models, shared_eval):
    from app.pipeline.decide import DEFAULT_MIN_SIMILARITY

    dataset = shared_eval / "identity" / "deepface_pairs" / "tests" / "unit" / "dataset"
    if not dataset.is_dir():
        pytest.skip(f"{dataset} is absent")
    with open(dataset / "master.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    same = [r for r in rows if r["Decision"] == "Yes"][:6]
    different = [r for r in rows if r["Decision"] == "No"][:6]
    detector, embedder = real_models
    cache = {}

    def embedding(name):
        if name not in cache:
            cache[name] = load_reference(dataset / name, detector, embedder)
        return cache[name]

    for row in same:
        assert embedding(row["file_x"]) @ embedding(row["file_y"]) >= DEFAULT_MIN_SIMILARITY, row
    for row in different:
        assert embedding(row["file_x"]) @ embedding(row["file_y"]) < DEFAULT_MIN_SIMILARITY, row


@pytest.mark.models
@pytest.mark.eval
def test_group_photo_is_refused_with_a_sentence(real_models, shared_eval):
    photo = shared_eval / "identity" / "deepface_pairs" / "tests" / "unit" / "dataset" / "couple.jpg"
    if not photo.is_file():
        pytest.skip(f"{photo} is absent")
    with pytest.raises(InputError, match=r"Found \d faces .* please use a photo of one face"):
        load_reference(photo, *real_models)
