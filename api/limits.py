"""Request body limits, enforced while the body streams in, before anything reads it.

Two classes of route: the upload routes (``UPLOAD_ROUTES``) may carry a file of up to
``media.max_upload_bytes`` plus its multipart framing; every other request (JSON, the panel's
forms) at most ``api.max_body_bytes``. A body over its limit is answered 413 in the envelope
as soon as the limit is passed (at once when ``Content-Length`` says so) and the rest is never
read: authentication, rate limiting and parsing come after this layer, so an anonymous caller
cannot make the server read or spool hundreds of megabytes before it is refused.

A pure ASGI middleware, like :class:`api.middleware.RequestContextMiddleware`.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from admin.auth import BASE_URL as ADMIN_BASE_URL
from api.envelope import error_response
from core.logging import get_logger
from core.settings import Settings

# The routes that receive a file; both store it through services.media.upload_media_async,
# which checks the file's own size against media.max_upload_bytes.
UPLOAD_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/api/data/media-repository/upload"),
        ("POST", f"{ADMIN_BASE_URL}/media-repository/create"),
    }
)
# Room for the multipart framing around the file: boundaries, part headers, the course id.
MULTIPART_OVERHEAD = 64 * 1024

log = get_logger("api.limits")


def body_limit(settings: Settings, method: str, path: str) -> int:
    """The most bytes a request's body may hold: the one place the route class is decided."""
    if (method, path) in UPLOAD_ROUTES:
        return settings.media.max_upload_bytes + MULTIPART_OVERHEAD
    return settings.api.max_body_bytes


def _readable(size: int) -> str:
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    # Connection: close tells the server to drop the connection once answered rather than
    # read (and discard) the rest of the body to reuse it.
    response = error_response(
        413,
        f"Request body too large: at most {_readable(limit)} here",
        headers={"Connection": "close"},
    )
    await response(scope, receive, send)


class BodyTooLarge(Exception):
    """Raised to the app by ``receive`` once the body passes its limit."""


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(self.settings, scope["method"], scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, receive, send, limit)
            return
        received = 0
        exceeded = False
        app_answered = False

        # The header may lie or be absent (chunked): the bytes themselves are counted.
        async def bounded_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal app_answered
            if exceeded and not app_answered:
                return  # the app's answer to a body it never had whole; ours goes out below
            if message["type"] == "http.response.start":
                app_answered = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, guarded_send)
        except Exception:
            # However the layers inside turned BodyTooLarge into an error (FastAPI into a
            # 400, a mounted app into its own 500), the answer is the 413.
            if not exceeded:
                raise
        if exceeded:
            if app_answered:
                log.warning("body over its limit after the answer began", path=scope["path"])
            else:
                await _refuse(scope, receive, send, limit)
