"""Rate limits: every API request (per user, or per client IP when anonymous) and, stricter,
sign-in and registration attempts (per client IP and per email address).

Over the limit the answer is 429 in the envelope with a ``Retry-After`` header.
"""

from __future__ import annotations

import jwt
from starlette.types import ASGIApp, Receive, Scope, Send

from api.envelope import error_response
from api.state import AppState
from core.errors import TooManyRequests

ACCESS_TOKEN_AUDIENCE = "fastapi-users:auth"  # noqa: S105 (a JWT audience, not a secret)
LIMITED_PREFIX = "/api/"


def client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token else None
    return None


def caller_key(scope: Scope, secret: str) -> str:
    """``user:<id>`` for a valid access token (checked offline, no database), else ``ip:<addr>``."""
    token = _bearer_token(scope)
    if token:
        try:
            claims = jwt.decode(token, secret, algorithms=["HS256"], audience=ACCESS_TOKEN_AUDIENCE)
            return f"user:{claims['sub']}"
        except (jwt.PyJWTError, KeyError):
            pass
    return f"ip:{client_ip(scope)}"


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, state: AppState) -> None:
        self.app = app
        self.state = state
        secret = state.settings.security.jwt_secret
        self.secret = secret.get_secret_value() if secret else ""
        self.limit = state.settings.ratelimit.requests_per_minute
        self.window = state.settings.ratelimit.window_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(LIMITED_PREFIX):
            await self.app(scope, receive, send)
            return
        key = f"req:{caller_key(scope, self.secret)}"
        decision = await self.state.limiter.hit(key, limit=self.limit, window=self.window)
        if not decision.allowed:
            response = error_response(
                429, TooManyRequests.message, headers={"Retry-After": str(decision.retry_after)}
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def limit_auth_attempts(state: AppState, *, ip: str, email: str | None) -> None:
    """Count one sign-in or registration attempt; raise 429 past the limit."""
    settings = state.settings.ratelimit
    if not settings.enabled:
        return
    keys = [f"auth:ip:{ip}"]
    if email:
        keys.append(f"auth:email:{email.strip().lower()}")
    for key in keys:
        decision = await state.limiter.hit(
            key, limit=settings.auth_attempts_per_minute, window=settings.window_seconds
        )
        if not decision.allowed:
            raise TooManyRequests(decision.retry_after)
