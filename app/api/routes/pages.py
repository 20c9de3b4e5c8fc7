"""HTML pages: the upload form and the job page (which polls the JSON API)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.api.deps import SettingsDep, StoreDep
from app.api.routes.jobs import find_job, job_public
from app.pipeline.types import RedactShape, RedactStyle

router = APIRouter(include_in_schema=False)

ACCEPT = "video/*,.mp4,.mov,.m4v,.mkv,.webm,.avi"


@router.get("/", response_class=HTMLResponse)
def read_index(request: Request, settings: SettingsDep) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(request, "index.html", {
        "settings": settings, "accept": ACCEPT,
        "styles": [s.value for s in RedactStyle], "shapes": [s.value for s in RedactShape],
    })


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def read_job_page(job_id: str, request: Request, settings: SettingsDep,
                  store: StoreDep) -> HTMLResponse:
    job = job_public(settings, find_job(store, job_id))
    return request.app.state.templates.TemplateResponse(request, "job.html", {
        "job": job, "job_json": job.model_dump_json(), "settings": settings})
