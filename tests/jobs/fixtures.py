"""Fixtures shared by tests/api, tests/jobs and tests/browser (imported by their conftest)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its TestClient; httpx still works (requirements pin it).
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.jobs import fake_engine
from tests.jobs.media import make_clip

ENGINE = fake_engine.__name__  # "jobs.fake_engine" however pytest named it


def engine_spec(name: str) -> str:
    """A scripted engine by name ("fast"), or any full spec ("app.jobs.engine:PipelineEngine")."""
    return name if ":" in name else f"{ENGINE}:{name}"


@pytest.fixture(scope="session")
def clip_path(tmp_path_factory) -> Path:
    """1 s, 160x120, 25 fps, H.264 + AAC."""
    return make_clip(tmp_path_factory.mktemp("media") / "clip.mp4")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def make_client(settings) -> Iterator[Callable[..., TestClient]]:
    """make_client(engine="fast", start_workers=True, **setting overrides) -> a started client."""
    clients: list[TestClient] = []

    def make(engine: str = "fast", start_workers: bool = True, **overrides) -> TestClient:
        app_settings = Settings(**{**settings.__dict__, **overrides})
        app = create_app(app_settings, engine=engine_spec(engine), start_workers=start_workers)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:
    """An app that queues jobs but runs no workers."""
    return make_client(start_workers=False)


def upload(client: TestClient, path: Path, name: str = "clip.mp4", **fields):
    with open(path, "rb") as f:
        return client.post("/api/jobs", files={"file": (name, f, "video/mp4")}, data=fields)


def wait_for(client: TestClient, job_id: str, predicate, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        body = client.get(f"/api/jobs/{job_id}").json()
        if predicate(body):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} never reached the expected state; last: {body}")
        time.sleep(0.05)


def is_final(body: dict) -> bool:
    return body.get("state") in ("succeeded", "failed", "cancelled")
