"""The outermost layer of every request: correlation id, access log, last-resort 500.

A pure ASGI middleware (not ``BaseHTTPMiddleware``) so it adds no per-request task or copy.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.envelope import error_response
from api.errors import database_busy
from core.logging import REQUEST_ID_KEY, get_logger

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only if it is short and plain: it ends up in every log line.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

log = get_logger("api.request")


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _SAFE_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        structlog.contextvars.bind_contextvars(**{REQUEST_ID_KEY: request_id})
        started = time.perf_counter()
        status_code = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status_code, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_code = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            busy = database_busy(exc, scope["path"])
            if busy is None:
                # The traceback goes to the log, never to the client.
                log.exception("unhandled error", method=scope["method"], path=scope["path"])
            if not response_started:
                response = busy or error_response(500, "Server error occurred")
                await response(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars(REQUEST_ID_KEY)
