"""Rate limits: every API request (per user, or per client IP when anonymous) and, stricter,
sign-in and registration attempts (per client IP and per email address).

Over the limit the answer is 429 in the envelope with a ``Retry-After`` header. The paths in
``EXEMPT_PREFIXES`` are never counted.
"""

from __future__ import annotations

import jwt
from starlette.types import ASGIApp, Receive, Scope, Send

from api.envelope import error_response
from api.state import AppState
from core.errors import TooManyRequests

ACCESS_TOKEN_AUDIENCE = "fastapi-users:auth"  # noqa: S105 (a JWT audience, not a secret)
# The API, and the public certificate pages (which say what the verification API says).
LIMITED_PREFIXES: tuple[str, ...] = ("/api/", "/verify/")
# Never counted nor refused. Payment providers' webhooks: Paystack posts every merchant's
# events from a few shared addresses, so a per-IP budget would drop payment confirmations;
# each post proves itself with its signature instead (checked by its route).
EXEMPT_PREFIXES: tuple[str, ...] = ("/api/payments/webhooks/",)


def is_limited(path: str) -> bool:
    """Whether a request to ``path`` counts against the caller's budget."""
    return path.startswith(LIMITED_PREFIXES) and not path.startswith(EXEMPT_PREFIXES)


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
            # The claims the API itself requires (api.auth): no budget of its own for a
            # token the API would refuse.
            claims = jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                audience=ACCESS_TOKEN_AUDIENCE,
                options={"require": ["exp", "sub", "aud"]},
            )
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
        if scope["type"] != "http" or not is_limited(scope["path"]):
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
