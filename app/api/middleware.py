"""Response headers for privacy: job URLs are capabilities, so they must not leak."""

from __future__ import annotations

HEADERS = [
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
]
CSP = (b"content-security-policy",
       b"default-src 'self'; img-src 'self' data:; media-src 'self'; object-src 'none'; "
       b"frame-ancestors 'none'; base-uri 'none'")
# FastAPI's /docs and /redoc pages load Swagger UI / ReDoc with inline script from a CDN.
CSP_EXEMPT = ("/docs", "/redoc")


class PrivacyHeaders:
    """Pure ASGI middleware (no body buffering, so file streaming and Range are unaffected)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_api = scope["path"].startswith("/api/jobs")

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + HEADERS
                if not scope["path"].startswith(CSP_EXEMPT):
                    headers.append(CSP)
                if is_api or scope["path"].startswith("/jobs/"):
                    headers.append((b"cache-control", b"private, no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
