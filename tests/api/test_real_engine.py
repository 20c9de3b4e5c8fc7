"""The API over the real engine (CenterFace), end to end through a worker process."""

from __future__ import annotations

import pytest

from app.jobs.engine import DEFAULT_ENGINE
from app.pipeline.errors import ModelError
from tests.jobs.fixtures import is_final, upload, wait_for
from tests.jobs.media import count_frames_and_audio_packets

pytestmark = [pytest.mark.models, pytest.mark.slow]


def test_real_engine_job_keeps_frames_and_audio(make_client, clip_path, tmp_path):
    try:
        client = make_client(DEFAULT_ENGINE)
    except ModelError as error:
        pytest.skip(f"the real engine needs its models: {error}")
    job_id = upload(client, clip_path, style="solid").json()["id"]
    body = wait_for(client, job_id, is_final, timeout_s=300)
    assert body["state"] == "succeeded", body
    result = tmp_path / "result.mp4"
    result.write_bytes(client.get(f"/api/jobs/{job_id}/result").content)
    report = client.get(f"/api/jobs/{job_id}/report").json()
    frames, audio_packets = count_frames_and_audio_packets(result)
    assert frames == 25 == report["frame_count"]
    assert audio_packets == count_frames_and_audio_packets(clip_path)[1]


def test_real_engine_review_then_render(make_client, clip_path):
    """The review path with the real models (FaceNet loads in the worker for this job)."""
    try:
        client = make_client(DEFAULT_ENGINE)
    except ModelError as error:
        pytest.skip(f"the real engine needs its models: {error}")
    job_id = upload(client, clip_path, review="on").json()["id"]
    body = wait_for(client, job_id, lambda b: b["state"] in ("review", "failed", "succeeded"),
                    timeout_s=300)
    assert body["state"] == "review", body
    people = client.get(f"/api/jobs/{job_id}/people").json()["people"]
    assert isinstance(people, list)  # a textured square is not a face: usually nobody
    assert client.post(f"/api/jobs/{job_id}/render").status_code == 202
    done = wait_for(client, job_id, is_final, timeout_s=300)
    assert done["state"] == "succeeded", done
    assert client.get(f"/api/jobs/{job_id}/report").json()["frame_count"] == 25
