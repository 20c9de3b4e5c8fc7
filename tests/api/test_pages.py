"""HTML pages, their error page, static files, docs and privacy headers."""

from __future__ import annotations

from tests.jobs.fixtures import upload


def test_index_shows_form_limits_and_options(make_client):
    client = make_client(start_workers=False, max_upload_mb=300)
    response = client.get("/")
    assert response.status_code == 200
    html = response.text
    assert 'enctype="multipart/form-data"' in html and 'type="file"' in html
    assert "up to 300 MB" in html and "MP4" in html and 'accept="video/*' in html
    for value in ("mosaic", "blur", "solid", "ellipse", "box"):
        assert f'value="{value}"' in html
    assert response.headers["referrer-policy"] == "no-referrer"


def test_job_page_shows_state(client, clip_path):
    job_id = upload(client, clip_path).json()["id"]
    response = client.get(f"/jobs/{job_id}")
    assert response.status_code == 200
    assert "queued" in response.text and 'id="fill"' in response.text
    assert response.headers["cache-control"] == "private, no-store"


def test_job_page_unknown_is_an_html_404(client):
    response = client.get("/jobs/" + "B" * 32)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "no such job" in response.text


def test_unknown_page_is_an_html_404(client):
    response = client.get("/nowhere")
    assert response.status_code == 404 and "<html" in response.text


def test_static_and_openapi(client):
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/static/job.js").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/api/jobs" in schema["paths"] and "/api/jobs/{job_id}/result" in schema["paths"]
    assert client.get("/docs").status_code == 200


def test_pages_send_a_content_security_policy_but_docs_can_load(client):
    assert "default-src 'self'" in client.get("/").headers["content-security-policy"]
    assert "content-security-policy" not in client.get("/docs").headers


def test_index_offers_modes_reference_photos_and_review(client):
    html = client.get("/").text
    for value in ("all", "only", "keep"):
        assert f'name="mode" value="{value}"' in html
    assert 'name="reference"' in html and "multiple" in html and 'name="review"' in html


def test_job_page_has_the_review_section(client, clip_path):
    job_id = upload(client, clip_path, review="on").json()["id"]
    html = client.get(f"/jobs/{job_id}").text
    assert 'id="review"' in html and 'id="render"' in html and "with review" in html
    assert client.get("/static/job.js").status_code == 200
