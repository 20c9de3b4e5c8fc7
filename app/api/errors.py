"""One error handler: ``{"detail": "<sentence>"}`` for the API, an HTML page for pages."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

GENERIC = {
    400: "The request is not valid.",
    404: "There is nothing here; the job may have expired or been deleted.",
    405: "This method is not allowed here.",
    500: "Something went wrong on the server; the error has been logged.",
}


def _sentence(status_code: int, detail) -> str:
    if isinstance(detail, str) and detail and detail != _default_phrase(status_code):
        return detail
    return GENERIC.get(status_code, "The request could not be completed.")


def _default_phrase(status_code: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return ""


def validation_sentence(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", ""))
    return "The request is not valid (" + "; ".join(parts) + ")." if parts else GENERIC[400]


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def error_response(request: Request, status_code: int, sentence: str, headers=None):
    if wants_json(request):
        return JSONResponse({"detail": sentence}, status_code=status_code, headers=headers)
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request, "error.html", {"status_code": status_code, "sentence": sentence},
        status_code=status_code, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    async def http_error(request: Request, exc: StarletteHTTPException):
        return error_response(request, exc.status_code, _sentence(exc.status_code, exc.detail),
                              getattr(exc, "headers", None))

    async def validation_error(request: Request, exc: RequestValidationError):
        return error_response(request, 422, validation_sentence(exc))

    async def unexpected_error(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, 500, GENERIC[500])

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected_error)
