"""The JSON API: every route and error path (scripted engine; see tests/jobs/fake_engine.py)."""

from __future__ import annotations

import os
import random

import pytest

from app.jobs.files import JobFiles
from app.jobs.model import JobState
from tests.jobs.fixtures import is_final, upload, wait_for


def _assert_error(response, status_code: int, *words: str) -> str:
    assert response.status_code == status_code, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str)
    sentence = body["detail"]
    assert sentence[0].isupper() and sentence.endswith("."), sentence
    for word in words:
        assert word in sentence, sentence
    return sentence


def test_create_job_queues_and_commits_before_answering(client, clip_path, settings):
    response = upload(client, clip_path, style="blur", shape="box")
    assert response.status_code == 202, response.text
    body = response.json()
    assert len(body["id"]) >= 22  # >= 128 random bits in URL-safe base64
    assert body["state"] == "queued" and body["progress"] == 0
    assert body["options"] == {"style": "blur", "shape": "box"}
    assert body["video"]["width"] == 160 and body["video"]["frame_count_estimate"] == 25
    assert body["urls"]["page"] == f"/jobs/{body['id']}"
    assert response.headers["location"] == f"/api/jobs/{body['id']}"
    assert client.get(body["urls"]["status"]).json()["state"] == "queued"
    stored = list((settings.jobs_dir / body["id"]).iterdir())
    assert [p.name for p in stored] == ["input"]  # the uploaded name is never a path


def test_create_job_ids_are_unique(client, clip_path):
    ids = {upload(client, clip_path).json()["id"] for _ in range(3)}
    assert len(ids) == 3


def test_create_job_random_bytes_named_mp4(client, tmp_path, settings):
    junk = tmp_path / "holiday.mp4"
    # Fixed bytes: about one random buffer in 50 happens to parse as a stream header (FFmpeg's
    # probe is lenient); that case gets its own sentence ("a video stream that cannot be
    # decoded"), also a 415. This seed is one that parses as nothing.
    junk.write_bytes(random.Random(20261126).randbytes(200_000))
    response = upload(client, junk, name="holiday.mp4")
    _assert_error(response, 415, "not a video")
    assert list(settings.jobs_dir.iterdir()) == []


def test_create_job_too_large_by_content_length(make_client, tmp_path, settings):
    client = make_client(start_workers=False, max_upload_mb=1)
    big = tmp_path / "big.mp4"
    big.write_bytes(os.urandom(1_500_000))
    _assert_error(upload(client, big), 413, "1 MB")
    assert list(settings.jobs_dir.iterdir()) == []


def test_create_job_too_large_while_streaming(make_client, settings):
    """No Content-Length (chunked): the limit is enforced while the body arrives."""
    client = make_client(start_workers=False, max_upload_mb=1)
    boundary = "veilboundary"

    def body():
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
               f"filename=\"x.mp4\"\r\nContent-Type: video/mp4\r\n\r\n").encode()
        for _ in range(40):
            yield b"\0" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post("/api/jobs", content=body(),
                           headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    _assert_error(response, 413)
    assert list(settings.jobs_dir.iterdir()) == []


@pytest.mark.parametrize("overrides, words", [
    ({"max_duration_s": 0.5}, ["lasts", "limit"]),
    ({"max_pixels": 160 * 100}, ["160x120", "limit"]),
    ({"max_frames": 10}, ["frames", "limit"]),
])
def test_create_job_over_limits(make_client, clip_path, settings, overrides, words):
    client = make_client(start_workers=False, **overrides)
    _assert_error(upload(client, clip_path), 422, *words)
    assert list(settings.jobs_dir.iterdir()) == []


def test_create_job_unknown_style(client, clip_path):
    _assert_error(upload(client, clip_path, style="sparkles"), 422, "sparkles", "mosaic")


def test_create_job_without_file(client):
    _assert_error(client.post("/api/jobs", data={"style": "blur"},
                              files={"other": ("a.txt", b"x", "text/plain")}), 400, "file")


def test_create_job_not_multipart(client):
    _assert_error(client.post("/api/jobs", json={"file": "x"}), 415, "multipart")


def test_create_job_empty_file(client, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    _assert_error(upload(client, empty), 400, "empty")


def test_read_job_unknown(client):
    _assert_error(client.get("/api/jobs/" + "A" * 32), 404, "no such job")
    _assert_error(client.get("/api/jobs/..%2F..%2Fetc"), 404)


def test_error_shape_for_unknown_route_method_and_validation(client, clip_path):
    _assert_error(client.get("/api/nothing"), 404)
    _assert_error(client.put("/api/jobs"), 405)
    job_id = upload(client, clip_path).json()["id"]
    _assert_error(client.get(f"/api/jobs/{job_id}/stills/middle"), 422, "which")


def test_result_and_report_not_ready(client, clip_path):
    job_id = upload(client, clip_path).json()["id"]
    _assert_error(client.get(f"/api/jobs/{job_id}/result"), 409, "not ready", "queued")
    _assert_error(client.get(f"/api/jobs/{job_id}/report"), 409, "not ready")
    _assert_error(client.get(f"/api/jobs/{job_id}/stills/before"), 409)


def test_delete_queued_job_cancels_and_removes_files(client, clip_path, settings):
    job_id = upload(client, clip_path).json()["id"]
    assert client.delete(f"/api/jobs/{job_id}").status_code == 204
    body = client.get(f"/api/jobs/{job_id}").json()
    assert body["state"] == "cancelled"
    assert not (settings.jobs_dir / job_id).exists()
    _assert_error(client.get(f"/api/jobs/{job_id}/result"), 409, "cancelled")
    assert client.delete(f"/api/jobs/{job_id}").status_code == 204  # now gone entirely
    _assert_error(client.get(f"/api/jobs/{job_id}"), 404)
    _assert_error(client.delete(f"/api/jobs/{job_id}"), 404)


def test_job_runs_to_result_with_range_report_and_stills(make_client, clip_path, settings):
    client = make_client("fast")
    created = upload(client, clip_path).json()
    body = wait_for(client, created["id"], is_final)
    assert body["state"] == "succeeded", body
    assert body["progress"] == 1.0 and body["frames_done"] == body["frames_total"] == 25
    assert body["has_stills"] is True

    result = client.get(body["urls"]["result"])
    assert result.status_code == 200
    assert result.headers["content-type"] == "video/mp4"
    assert result.headers["content-disposition"].startswith("inline")
    assert result.content == clip_path.read_bytes()  # the fake engine copies its input
    download = client.get(body["urls"]["result"] + "?download=1")
    assert download.headers["content-disposition"].startswith("attachment")

    part = client.get(body["urls"]["result"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.content == result.content[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(result.content)}"

    report = client.get(body["urls"]["report"])
    assert report.status_code == 200 and report.json()["kind"] == "video"
    for which in ("before", "after"):
        still = client.get(body["urls"][which])
        assert still.status_code == 200 and still.headers["content-type"] == "image/jpeg"
        assert still.content[:2] == b"\xff\xd8"

    page = client.get(body["urls"]["page"])
    assert page.status_code == 200 and created["id"][:8] in page.text

    assert client.delete(body["urls"]["status"]).status_code == 204
    _assert_error(client.get(body["urls"]["status"]), 404)
    assert not (settings.jobs_dir / created["id"]).exists()


def test_read_job_answers_while_a_job_runs(make_client, clip_path):
    client = make_client("slow")
    job_id = upload(client, clip_path).json()["id"]
    running = wait_for(client, job_id, lambda b: b["state"] == "running" and b["frames_done"] > 0)
    seen = []
    for _ in range(20):
        response = client.get(f"/api/jobs/{job_id}")
        assert response.status_code == 200
        seen.append(response.json()["frames_done"])
    assert running["frames_total"] == 100 and running["stage"] in ("analysing", "rendering")
    assert seen == sorted(seen) and seen[-1] <= 100
    assert 0 < running["progress"] < 1 and running["fps"] > 0 and running["eta_s"] is not None


def test_delete_running_job_stops_it(make_client, clip_path, settings):
    client = make_client("endless")
    job_id = upload(client, clip_path).json()["id"]
    wait_for(client, job_id, lambda b: b["state"] == "running" and b["frames_done"] > 0)
    assert client.delete(f"/api/jobs/{job_id}").status_code == 204
    assert client.get(f"/api/jobs/{job_id}").json()["state"] == "cancelled"
    store = client.app.state.store
    wait_for(client, job_id, lambda b: store.get(job_id).worker_pid is None, timeout_s=10)
    assert not (settings.jobs_dir / job_id).exists()
    # The worker is free again: the next job runs.
    assert client.app.state.pool.processes[0].is_alive()


def test_failed_job_shows_the_engine_sentence(make_client, clip_path, settings):
    client = make_client("failing")
    job_id = upload(client, clip_path).json()["id"]
    body = wait_for(client, job_id, is_final)
    assert body["state"] == "failed" and body["error"].startswith("Frame 3 could not be processed")
    _assert_error(client.get(f"/api/jobs/{job_id}/result"), 409, "failed", "Frame 3")
    assert not JobFiles.of(settings.jobs_dir, job_id).result.exists()


def test_create_app_refuses_to_start_without_models(settings):
    from app.main import create_app
    from app.pipeline.errors import ModelError
    from tests.jobs.fixtures import engine_spec

    with pytest.raises(ModelError, match="missing"):
        create_app(settings, engine=engine_spec("broken_models"))


def test_job_state_values_are_lower_case():
    assert [s.value for s in JobState] == [
        "queued", "running", "succeeded", "failed", "cancelled", "review"]
