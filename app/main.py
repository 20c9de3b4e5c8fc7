"""The web app: ``create_app(settings)`` builds it; its lifespan opens the job store, recovers
interrupted jobs and starts the worker processes (the web process never decodes video)."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from app.api.errors import install_error_handlers
from app.api.middleware import PrivacyHeaders
from app.api.routes import jobs, pages
from app.config import Settings, get_settings
from app.jobs.engine import DEFAULT_ENGINE, load_engine
from app.jobs.pool import WorkerPool, recover
from app.jobs.store import JobStore

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]


def create_app(settings: Settings | None = None, *, engine: str = DEFAULT_ENGINE,
               start_workers: bool = True) -> FastAPI:
    """Build the app.

    engine: import spec ("module:attribute") of the engine the workers run (tests pass a
    scripted one). start_workers: False gives an app that only queues jobs (tests of the HTTP
    layer). Raises ModelError (one sentence) when the engine's model files are missing.
    """
    settings = settings or get_settings()
    engine_object = load_engine(engine)
    verify = getattr(engine_object, "verify", None)
    if verify is not None:
        verify()
    store = JobStore(settings.db_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        settings.jobs_dir.mkdir(parents=True, exist_ok=True)
        store.initialize()
        recover(store, settings.jobs_dir)
        pool = WorkerPool(settings, store, engine) if start_workers else None
        if pool is not None:
            pool.start()
        app.state.pool = pool
        try:
            yield
        finally:
            if pool is not None:
                pool.stop()

    app = FastAPI(title="Veil", summary="Hide faces in video.", version="0.1.0",
                  lifespan=lifespan)
    app.state.settings = settings
    app.state.store = store
    app.state.engine = engine_object
    app.state.templates = Jinja2Templates(directory=ROOT / "templates")
    app.mount("/static", StaticFiles(directory=ROOT / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(jobs.router)
    install_error_handlers(app)
    app.add_middleware(PrivacyHeaders)
    return app
