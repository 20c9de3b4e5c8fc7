import numpy as np
import pytest

from app.pipeline.decide import Policy, decide, decide_all, track_similarity
from app.pipeline.types import Track

D = 512
E = np.eye(D, dtype=np.float32)
MIN_SIM, MARGIN = 0.45, 0.10


def _track(track_id):
    return Track(track_id, np.array([track_id]), np.zeros((1, 4), np.float32),
                 np.ones(1, np.float32), np.ones(1, bool))


def _at(similarity, to=E[0], away=E[1]):
    """A unit vector whose cosine with ``to`` is ``similarity``."""
    return (similarity * to + np.sqrt(1 - similarity**2) * away).astype(np.float32)


REFERENCES = [E[0][None]]  # one person, one photo
EMBEDDINGS = {
    1: np.stack([E[0], _at(0.9), _at(0.8)]),  # match
    2: np.stack([E[2], E[3]]),  # stranger
    3: np.stack([_at(0.45), _at(0.47)]),  # ambiguous
    4: np.zeros((0, D), np.float32),  # no usable crop
    # 5: missing entirely
}
TRACKS = [_track(i) for i in (1, 2, 3, 4, 5)]


@pytest.mark.parametrize("policy, expected_blur", [
    (Policy.ONLY, {1: True, 2: False, 3: True, 4: True, 5: True}),
    (Policy.KEEP, {1: False, 2: True, 3: True, 4: True, 5: True}),
    (Policy.ALL, {1: True, 2: True, 3: True, 4: True, 5: True}),
])
def test_decide_blurs_by_policy_and_fails_closed(policy, expected_blur):
    decisions = decide(TRACKS, policy, EMBEDDINGS, REFERENCES, MIN_SIM, MARGIN)
    assert [d.track_id for d in decisions] == [1, 2, 3, 4, 5]
    assert {d.track_id: d.should_blur for d in decisions} == expected_blur
    assert all(d.reason for d in decisions)


def test_decide_reasons_say_why():
    only = {d.track_id: d for d in decide(TRACKS, "only", EMBEDDINGS, REFERENCES, MIN_SIM, MARGIN)}
    assert only[1].reason.startswith("matches reference 1") and only[1].similarity > 0.8
    assert "unsure" in only[3].reason and "hidden to be safe" in only[3].reason
    assert "no usable face crop" in only[4].reason and only[4].similarity is None
    assert "no usable face crop" in only[5].reason
    assert only[2].reason.startswith("not a reference person")


def test_decide_all_blurs_every_track():
    decisions = decide_all(TRACKS)
    assert all(d.should_blur and d.reason == "all faces" for d in decisions)
    assert decide(TRACKS, Policy.ALL, {}, []) == decisions


@pytest.mark.parametrize("similarity, only_blur, keep_blur", [
    (0.99, True, False), (0.56, True, False), (0.54, True, True), (0.36, True, True),
    (0.34, False, True), (0.0, False, True), (-0.5, False, True),
])
def test_decide_band_edges(similarity, only_blur, keep_blur):
    embeddings = {1: _at(similarity)[None]} if similarity >= 0 else {1: -_at(-similarity)[None]}
    only = decide([_track(1)], Policy.ONLY, embeddings, REFERENCES, MIN_SIM, MARGIN)[0]
    keep = decide([_track(1)], Policy.KEEP, embeddings, REFERENCES, MIN_SIM, MARGIN)[0]
    assert (only.should_blur, keep.should_blur) == (only_blur, keep_blur)


def test_track_similarity_median_ignores_one_bad_crop():
    crops = np.stack([_at(0.8), _at(0.75), E[5]])  # one crop of a turned head
    assert track_similarity(crops, E[0][None]) == pytest.approx(0.75, abs=1e-5)


def test_track_similarity_best_reference_photo_per_crop():
    refs = np.stack([E[0], E[1]])  # two photos of one person
    crops = np.stack([E[0], E[1], _at(0.7, E[1], E[2])])
    assert track_similarity(crops, refs) == pytest.approx(1.0)


def test_decide_several_people_names_the_closest():
    refs = [E[7][None], E[0][None]]
    decision = decide([_track(1)], Policy.ONLY, {1: EMBEDDINGS[1]}, refs, MIN_SIM, MARGIN)[0]
    assert decision.should_blur and "reference 2" in decision.reason


def test_decide_only_blurs_whole_group_of_a_matching_track():
    embeddings = {1: EMBEDDINGS[1], 2: np.stack([_at(0.2)])}
    person_of_track = {1: 0, 2: 0}
    decisions = decide([_track(1), _track(2)], Policy.ONLY, embeddings, REFERENCES, MIN_SIM,
                       MARGIN, person_of_track)
    assert [d.should_blur for d in decisions] == [True, True]
    assert "same person as track 1" in decisions[1].reason
    assert [d.person_id for d in decisions] == [0, 0]
    keep = decide([_track(1), _track(2)], Policy.KEEP, embeddings, REFERENCES, MIN_SIM, MARGIN,
                  person_of_track)
    assert [d.should_blur for d in keep] == [False, True]


@pytest.mark.parametrize("kwargs, message", [
    ({"references": []}, "at least one reference"),
    ({"references": [np.zeros((0, D))]}, "at least one embedding"),
    ({"min_similarity": 1.5}, "min_similarity"),
    ({"ambiguity_margin": -0.1}, "ambiguity_margin"),
])
def test_decide_rejects_bad_arguments(kwargs, message):
    arguments = {"references": REFERENCES, "min_similarity": MIN_SIM, "ambiguity_margin": MARGIN}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        decide(TRACKS, Policy.KEEP, EMBEDDINGS, **arguments)


def test_policy_values():
    assert [p.value for p in Policy] == ["all", "only", "keep"]
    with pytest.raises(ValueError):
        Policy("bad")
