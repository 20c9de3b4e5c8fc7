"""Identity policies and the review step through the API, on the real pipeline with a
scripted detector and embedder (tests/jobs/fake_engine.py: two textured squares, 'red' and
'blue', are two different people)."""

from __future__ import annotations

import numpy as np
import pytest

from app.jobs.files import JobFiles
from tests.api.test_jobs import _assert_error
from tests.jobs.fixtures import is_final, upload, wait_for
from tests.jobs.media import hidden_people_in, make_reference_photo, make_two_people_clip


@pytest.fixture(scope="module")
def two_people_clip(tmp_path_factory):
    return make_two_people_clip(tmp_path_factory.mktemp("media") / "two.mp4")


def upload_with_photos(client, clip, photos=(), **fields):
    files = [("file", ("two.mp4", clip.read_bytes(), "video/mp4"))]
    files += [("reference", (p.name, p.read_bytes(), "image/png")) for p in photos]
    return client.post("/api/jobs", files=files, data=fields)


def hidden_people(client, job_id, clip, tmp_path) -> set[str]:
    result = tmp_path / f"{job_id}.mp4"
    result.write_bytes(client.get(f"/api/jobs/{job_id}/result").content)
    return hidden_people_in(clip, result)


def test_review_flow_toggle_a_person_then_render(make_client, two_people_clip, settings, tmp_path):
    client = make_client("two_people")
    created = upload_with_photos(client, two_people_clip, review="on")
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    assert created.json()["options"] == {"review": True}
    body = wait_for(client, job_id, lambda b: b["state"] in ("review", "failed", "succeeded"))
    assert body["state"] == "review" and body["stage"] == "review", body
    _assert_error(client.get(f"/api/jobs/{job_id}/result"), 409, "review")

    people = client.get(body["urls"]["people"]).json()["people"]
    assert [p["number"] for p in people] == [1, 2]
    for card in people:
        assert card["blur"] is True and card["reasons"] == ["all faces"]
        assert card["frames"] == 40 and card["appearances_s"] == [[0.0, 1.56]]
        assert 1 <= len(card["thumbnails"]) <= 4 and len(card["tracks"]) == 1
        thumb = client.get(card["thumbnails"][0])
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        assert thumb.headers["cache-control"] == "private, no-store"
    # Which card is the red square? Its thumbnail is red.
    import cv2

    def is_red(card):
        data = np.frombuffer(client.get(card["thumbnails"][0]).content, np.uint8)
        rgb = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        return rgb[..., 0].mean() > rgb[..., 2].mean()

    red = next(c for c in people if is_red(c))
    blue = next(c for c in people if c is not red)

    edited = client.patch(f"/api/jobs/{job_id}/people/{red['key']}", json={"blur": False})
    assert edited.status_code == 200, edited.text
    red_now = next(c for c in edited.json()["people"] if c["key"] == red["key"])
    assert red_now["blur"] is False and red_now["reasons"] == ["editor chose to show"]
    assert red_now["tracks"][0]["is_override"] and red_now["tracks"][0]["decided_blur"]
    # Per track: hide and show the blue track again (back to the decision: no override).
    track = blue["tracks"][0]["track_id"]
    assert client.patch(f"/api/jobs/{job_id}/tracks/{track}", json={"blur": False}).status_code == 200
    again = client.patch(f"/api/jobs/{job_id}/tracks/{track}", json={"blur": True}).json()
    blue_now = next(c for c in again["people"] if c["key"] == blue["key"])
    assert blue_now["blur"] and blue_now["reasons"] == ["all faces"]
    assert not blue_now["tracks"][0]["is_override"]

    rendered = client.post(f"/api/jobs/{job_id}/render")
    assert rendered.status_code == 202 and rendered.json()["state"] == "queued"
    _assert_error(client.post(f"/api/jobs/{job_id}/render"), 409, "not waiting for review")
    done = wait_for(client, job_id, is_final)
    assert done["state"] == "succeeded", done
    assert hidden_people(client, job_id, two_people_clip, tmp_path) == {"blue"}

    report = client.get(f"/api/jobs/{job_id}/report").json()
    reasons = {t["id"]: (t["decision"], t["reason"]) for t in report["tracks"]}
    assert reasons[red["tracks"][0]["track_id"]] == ("keep", "editor chose to show")
    assert reasons[track] == ("blur", "all faces")
    red_track = next(t for t in report["tracks"] if t["id"] == red["tracks"][0]["track_id"])
    assert red_track["decided"] == {"decision": "blur", "reason": "all faces"}
    assert report["review"] == {"overrides": 1} and report["frame_count"] == 40
    assert client.get(done["urls"]["after"]).status_code == 200
    _assert_error(client.patch(f"/api/jobs/{job_id}/people/{red['key']}", json={"blur": True}),
                  409, "not waiting for review", "succeeded")

    assert client.delete(f"/api/jobs/{job_id}").status_code == 204
    assert not (settings.jobs_dir / job_id).exists()  # thumbnails go with the job


def test_review_errors(make_client, two_people_clip, clip_path):
    client = make_client("two_people")
    job_id = upload_with_photos(client, two_people_clip, review="true").json()["id"]
    wait_for(client, job_id, lambda b: b["state"] == "review")
    _assert_error(client.patch(f"/api/jobs/{job_id}/people/77", json={"blur": False}), 404, "77")
    _assert_error(client.patch(f"/api/jobs/{job_id}/tracks/77", json={"blur": False}), 404, "77")
    _assert_error(client.patch(f"/api/jobs/{job_id}/people/0", json={"blur": "maybe"}), 422, "blur")
    _assert_error(client.patch(f"/api/jobs/{job_id}/people/0", json={}), 422, "blur")
    _assert_error(client.get(f"/api/jobs/{job_id}/tracks/1/thumbnails/99"), 404, "thumbnail")
    _assert_error(client.post("/api/jobs/" + "C" * 32 + "/render"), 404, "no such job")

    plain = upload(client, clip_path).json()["id"]  # no review: never in review
    wait_for(client, plain, is_final)
    _assert_error(client.post(f"/api/jobs/{plain}/render"), 409, "not waiting for review")
    _assert_error(client.patch(f"/api/jobs/{plain}/people/0", json={"blur": False}), 409)
    _assert_error(client.get(f"/api/jobs/{plain}/people"), 409, "no people")

    # Deleting a job in review cancels it and removes its files.
    assert client.delete(f"/api/jobs/{job_id}").status_code == 204
    assert client.get(f"/api/jobs/{job_id}").json()["state"] == "cancelled"
    _assert_error(client.post(f"/api/jobs/{job_id}/render"), 409, "cancelled")


def test_review_survives_a_restart(make_client, two_people_clip, settings, tmp_path):
    first = make_client("two_people")
    job_id = upload_with_photos(first, two_people_clip, review="on").json()["id"]
    wait_for(first, job_id, lambda b: b["state"] == "review")
    key = first.get(f"/api/jobs/{job_id}/people").json()["people"][0]["key"]
    assert first.patch(f"/api/jobs/{job_id}/people/{key}", json={"blur": False}).status_code == 200
    first.__exit__(None, None, None)  # the server stops

    second = make_client("two_people")
    body = second.get(f"/api/jobs/{job_id}").json()
    assert body["state"] == "review"
    people = second.get(f"/api/jobs/{job_id}/people").json()["people"]
    assert [p["blur"] for p in people] == [False, True]  # the edit was kept
    assert second.post(f"/api/jobs/{job_id}/render").status_code == 202
    assert wait_for(second, job_id, is_final)["state"] == "succeeded"
    assert hidden_people(second, job_id, two_people_clip, tmp_path) == {"blue"}


@pytest.mark.parametrize("mode, hidden", [("only", {"red"}), ("keep", {"blue"})])
def test_reference_photo_policies(make_client, two_people_clip, tmp_path, mode, hidden):
    client = make_client("two_people")
    photo = make_reference_photo(tmp_path / "portrait.png", "red")
    created = upload_with_photos(client, two_people_clip, [photo], mode=mode)
    assert created.status_code == 202, created.text
    assert created.json()["options"] == {"policy": mode, "references": ["portrait.png"]}
    body = wait_for(client, created.json()["id"], is_final)
    assert body["state"] == "succeeded", body
    assert hidden_people(client, body["id"], two_people_clip, tmp_path) == hidden
    report = client.get(body["urls"]["report"]).json()
    assert report["identity"]["policy"] == mode and len(report["identity"]["references"]) == 1


@pytest.mark.parametrize("colours, words", [
    ((), ["No face found", "'nobody.png'"]),
    (("red", "blue"), ["2 faces", "'nobody.png'"]),
])
def test_bad_reference_photo_fails_the_job_with_a_sentence(make_client, two_people_clip, tmp_path,
                                                           colours, words):
    client = make_client("two_people")
    photo = make_reference_photo(tmp_path / "nobody.png", *colours)
    job_id = upload_with_photos(client, two_people_clip, [photo], mode="only").json()["id"]
    body = wait_for(client, job_id, is_final)
    assert body["state"] == "failed"
    for word in words:
        assert word in body["error"], body["error"]
    assert "reference-0" not in body["error"]


def test_reference_photo_upload_errors(client, two_people_clip, tmp_path, settings):
    _assert_error(upload_with_photos(client, two_people_clip, mode="only"), 422,
                  "reference photo", "only these people")
    junk = tmp_path / "notes.png"
    junk.write_bytes(b"these are not pixels")
    _assert_error(upload_with_photos(client, two_people_clip, [junk], mode="keep"), 422,
                  "'notes.png'", "not a JPEG")
    _assert_error(upload_with_photos(client, two_people_clip, mode="everybody"), 422, "everybody")
    assert list(settings.jobs_dir.iterdir()) == []
    # An empty file picker sends an empty part; photos with mode "all" are dropped.
    files = [("file", ("two.mp4", two_people_clip.read_bytes(), "video/mp4")),
             ("reference", ("", b"", "application/octet-stream"))]
    created = client.post("/api/jobs", files=files, data={"mode": "all"})
    assert created.status_code == 202 and created.json()["options"] == {}
    photo = make_reference_photo(tmp_path / "p.png", "red")
    created = upload_with_photos(client, two_people_clip, [photo])
    assert created.status_code == 202 and created.json()["options"] == {}
    assert JobFiles.of(settings.jobs_dir, created.json()["id"]).references == []
