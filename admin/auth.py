"""Who may use the panel, and what each of them may do there.

Sign-in uses the platform's own accounts: the same password hashes and the same limit on
attempts as ``POST /api/auth/login``. Admins and instructors get in; students are told the
panel is not for them. The session is a signed cookie (HttpOnly, SameSite=Strict, Secure
when the platform is served over HTTPS) holding a server-side sign-in, so signing out,
deactivation or a password change ends it at once.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqladmin.authentication import AuthenticationBackend
from sqladmin.authorization import Action, AuthorizationBackend
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.ratelimit import client_ip, limit_auth_attempts
from api.state import AppState
from core.database import async_unit_of_work
from core.errors import TooManyRequests
from core.logging import get_logger
from models import Role, User
from resources.declaration import Operation
from services.authentication import InvalidCredentials, authenticate
from services.sessions import issue_panel_session, panel_session_user, revoke_token_family

if TYPE_CHECKING:
    from sqladmin import Admin

    from admin.views import ResourceView

log = get_logger("admin.auth")

PANEL_ROLES = frozenset({Role.ADMIN, Role.INSTRUCTOR})
SESSION_COOKIE = "lms_admin"
BASE_URL = "/admin"
STUDENT_REFUSED = "The admin panel is for instructors and admins; students use the learning app."

# The request being served, for the hooks sqladmin calls without it (building a form).
current_request: ContextVar[Request | None] = ContextVar("panel_request", default=None)


def panel_user(request: Request) -> User:
    """The signed-in panel user (set by ``authenticate`` on every panel request)."""
    user: User | None = getattr(request.state, "panel_user", None)
    if user is None:
        raise HTTPException(status_code=401)
    return user


def _cookie_secret(state: AppState) -> str:
    # Derived from the platform's signing secret, so the panel needs no secret of its own
    # and its cookies cannot be confused with anything else signed by that secret.
    secret = state.settings.security.jwt_secret
    key = secret.get_secret_value().encode() if secret else b""
    return hmac.new(key, b"lms-admin-panel-session", hashlib.sha256).hexdigest()


class PanelAuthentication(AuthenticationBackend):
    def __init__(self, state: AppState, *, path: str = BASE_URL) -> None:
        settings = state.settings
        super().__init__(
            secret_key=_cookie_secret(state),
            session_cookie=SESSION_COOKIE,
            max_age=settings.admin.session_hours * 3600,
            same_site="strict",
            path=path,  # never sent to the API
            https_only=settings.app.public_url.startswith("https://"),
        )
        self.state = state
        self.lifetime = timedelta(hours=settings.admin.session_hours)
        self.admin: Admin | None = None

    async def _refuse(self, request: Request, message: str, status_code: int) -> Response:
        assert self.admin is not None
        response: Response = await self.admin.templates.TemplateResponse(
            request, "sqladmin/login.html", {"error": message}, status_code=status_code
        )
        return response

    async def login(self, request: Request) -> Response | bool:
        form = await request.form()
        email = str(form.get("username") or "").strip()
        password = str(form.get("password") or "")
        try:
            await limit_auth_attempts(self.state, ip=client_ip(request.scope), email=email)
        except TooManyRequests as exc:
            return await self._refuse(request, exc.message, 429)
        try:
            async with async_unit_of_work(self.state.sessions) as session:
                user = await authenticate(session, email=email, password=password)
                if user.role not in PANEL_ROLES:
                    log.info("panel sign-in refused", user_id=user.user_id, role=user.role.value)
                    return await self._refuse(request, STUDENT_REFUSED, 403)
                token = await session.run_sync(
                    lambda sync: issue_panel_session(
                        sync, user_id=user.user_id, lifetime=self.lifetime
                    )
                )
        except InvalidCredentials:
            return await self._refuse(request, "Invalid email or password.", 400)
        request.session.clear()
        request.session["token"] = token
        log.info("panel sign-in", user_id=user.user_id, role=user.role.value)
        return True

    async def logout(self, request: Request) -> Response | bool:
        token = request.session.get("token")
        if token:
            async with async_unit_of_work(self.state.sessions) as session:
                await session.run_sync(lambda sync: revoke_token_family(sync, token=token))
        request.session.clear()
        return False  # sqladmin then shows the sign-in page

    async def authenticate(self, request: Request) -> Response | bool:
        current_request.set(request)
        token = request.session.get("token")
        if not token:
            return False
        async with self.state.sessions() as session:
            user = await session.run_sync(lambda sync: panel_session_user(sync, token=token))
        if user is None or user.role not in PANEL_ROLES:
            request.session.clear()
            return False
        request.state.panel_user = user
        return True

    async def get_user_id(self, request: Request) -> Any:
        user: User | None = getattr(request.state, "panel_user", None)
        return user.user_id if user is not None else None


class NoStore:
    """Panel pages are never kept by the browser: after signing out, Back shows nothing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "/statics/" in scope["path"]:
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_no_store)


# sqladmin's actions in the panel, as the declarations' operations.
OPERATIONS: Mapping[str, Operation] = {
    Action.LIST: "list",
    Action.EXPORT: "list",
    Action.DETAILS: "read",
    Action.CREATE: "create",
    Action.EDIT: "update",
    Action.DELETE: "delete",
}


class PanelAuthorization(AuthorizationBackend):
    """What a role may do on a view: its declaration's permissions, within the panel.

    Row by row, the views' queries and ``check_can_*`` hooks decide (they may query; this
    may not, sqladmin calls it many times per page).
    """

    def __init__(self) -> None:
        self.views: dict[str, ResourceView] = {}

    def has_permission(
        self, request: Request, identity: str, action: str, obj: Any | None = None
    ) -> bool:
        user: User | None = getattr(request.state, "panel_user", None)
        view = self.views.get(identity)
        if user is None or view is None:
            return False
        return view.permits(user.role, action)
