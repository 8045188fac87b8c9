"""Signing in to the panel: the platform's own accounts, admins and instructors only, sessions
that end when they should."""

from __future__ import annotations

import base64
import json

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin.auth import SESSION_COOKIE, STUDENT_REFUSED
from api.app import create_app
from core.settings import Settings
from models import AuditEntry, User
from tests.admin.conftest import PANEL_PASSWORD, SignIn
from tests.world import World, token_for


def post_login(client: TestClient, email: str, password: str = PANEL_PASSWORD) -> object:
    return client.post("/admin/login", data={"username": email, "password": password})


def session_token(client: TestClient) -> str:
    """The sign-in inside the panel's cookie (signed, not encrypted: it holds no secret but
    this random token, whose hash is all the database keeps)."""
    cookie = client.cookies[SESSION_COOKIE]
    payload = cookie.split(".")[0]
    return str(json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))["token"])


class TestWhoGetsIn:
    def test_an_admin_and_an_instructor_sign_in_to_the_dashboard(
        self, panel_app: FastAPI, panel_world: World
    ) -> None:
        for email in ("root@example.com", "x@example.com"):
            client = TestClient(panel_app, follow_redirects=False)
            answer = post_login(client, email)
            assert answer.status_code == 302
            assert answer.headers["location"].endswith("/admin/")
            assert client.get("/admin/").status_code == 200

    def test_a_student_is_refused_with_a_clear_message(
        self, panel_app: FastAPI, panel_world: World
    ) -> None:
        client = TestClient(panel_app, follow_redirects=False)
        answer = post_login(client, "a@example.com")
        assert answer.status_code == 403
        assert STUDENT_REFUSED in answer.text
        assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
        assert client.get("/admin/courses/list").status_code == 302

    def test_a_wrong_password_or_an_unknown_email_gets_the_same_refusal(
        self, panel_app: FastAPI, panel_world: World
    ) -> None:
        client = TestClient(panel_app, follow_redirects=False)
        for email, password in [("x@example.com", "not-the-password"), ("who@example.com", "x")]:
            answer = post_login(client, email, password)
            assert answer.status_code == 400
            assert "Invalid email or password." in answer.text

    def test_a_deactivated_instructor_cannot_sign_in(
        self, panel_app: FastAPI, panel_world: World, session: Session
    ) -> None:
        instructor = session.get(User, panel_world.users["instructor_x"])
        assert instructor is not None
        instructor.is_active = False
        session.commit()
        answer = post_login(TestClient(panel_app, follow_redirects=False), "x@example.com")
        assert answer.status_code == 400

    def test_pages_redirect_to_the_sign_in_page_until_signed_in(
        self, panel_app: FastAPI, panel_world: World
    ) -> None:
        client = TestClient(panel_app, follow_redirects=False)
        answer = client.get("/admin/courses/list")
        assert answer.status_code == 302
        assert answer.headers["location"].endswith("/admin/login")


class TestAttemptsAreLimited:
    def test_the_panel_shares_the_apis_limit_on_sign_in_attempts(
        self, settings: Settings, panel_world: World
    ) -> None:
        # A long window keeps the three attempts from straddling two windows (and so from
        # flaking when the clock crosses a minute between them).
        ratelimit = settings.ratelimit.model_copy(
            update={"auth_attempts_per_minute": 2, "window_seconds": 3600}
        )
        limited = settings.model_copy(update={"ratelimit": ratelimit})
        with TestClient(create_app(limited), follow_redirects=False) as client:
            api = client.post(
                "/api/auth/user/login", json={"email": "x@example.com", "password": "wrong-one"}
            )
            assert api.status_code == 401
            assert post_login(client, "x@example.com", "wrong-two").status_code == 400
            refused = post_login(client, "x@example.com")  # the right password, too late
            assert refused.status_code == 429
            assert "Too many" in refused.text


class TestTheSessionCookie:
    def test_is_http_only_same_site_strict_and_only_sent_to_the_panel(
        self, panel_app: FastAPI, panel_world: World
    ) -> None:
        answer = post_login(TestClient(panel_app, follow_redirects=False), "root@example.com")
        cookie = answer.headers["set-cookie"].lower()
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "httponly" in cookie
        assert "samesite=strict" in cookie
        assert "path=/admin" in cookie
        assert "secure" not in cookie  # served over plain http here

    def test_is_secure_behind_https(self, settings: Settings, panel_world: World) -> None:
        https = settings.model_copy(
            update={"app": settings.app.model_copy(update={"public_url": "https://learn.example"})}
        )
        with TestClient(create_app(https), base_url="https://testserver") as client:
            answer = client.post(
                "/admin/login",
                data={"username": "root@example.com", "password": PANEL_PASSWORD},
                follow_redirects=False,
            )
        assert "secure" in answer.headers["set-cookie"].lower()

    def test_panel_pages_are_never_cached(self, sign_in: SignIn) -> None:
        page = sign_in("admin").get("/admin/courses/list")
        assert page.headers["cache-control"] == "no-store"

    def test_a_tampered_cookie_is_no_session(self, sign_in: SignIn) -> None:
        client = sign_in("admin")
        value = client.cookies[SESSION_COOKIE]
        client.cookies.set(
            SESSION_COOKIE, value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
        )
        assert client.get("/admin/courses/list").status_code == 302


class TestSessionsEnd:
    def test_signing_out_ends_the_session_even_for_a_copied_cookie(
        self, sign_in: SignIn, panel_app: FastAPI
    ) -> None:
        client = sign_in("instructor_x")
        copied = client.cookies[SESSION_COOKIE]
        assert client.get("/admin/logout").status_code == 302
        assert client.get("/admin/courses/list").status_code == 302
        replay = TestClient(panel_app, follow_redirects=False)
        replay.cookies.set(SESSION_COOKIE, copied, path="/admin")
        assert replay.get("/admin/courses/list").status_code == 302

    def test_deactivating_a_user_ends_their_panel_session_and_api_tokens(
        self, sign_in: SignIn, panel_world: World, panel_app: FastAPI, session: Session
    ) -> None:
        instructor = sign_in("instructor_x")
        instructor_id = panel_world.users["instructor_x"]
        api = TestClient(panel_app)
        headers = {"Authorization": f"Bearer {token_for(session, instructor_id)}"}
        assert api.get("/api/auth/user/profile", headers=headers).status_code == 200

        admin = sign_in("admin")
        answer = admin.get(f"/admin/users/action/deactivate?pks={instructor_id}")
        assert answer.status_code == 302
        assert "error" not in answer.headers["location"]

        assert instructor.get("/admin/courses/list").status_code == 302
        assert api.get("/api/auth/user/profile", headers=headers).status_code == 401
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "deactivate")).one()
        assert (entry.user_id, entry.row_id) == (panel_world.users["admin"], str(instructor_id))

    def test_an_admin_cannot_deactivate_themselves(
        self, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        admin = sign_in("admin")
        answer = admin.get(f"/admin/users/action/deactivate?pks={panel_world.users['admin']}")
        assert "error=" in answer.headers["location"]
        assert admin.get("/admin/users/list").status_code == 200
        user = session.get(User, panel_world.users["admin"])
        assert user is not None
        assert user.is_active

    def test_a_panel_sign_in_cannot_be_exchanged_for_api_tokens(
        self, sign_in: SignIn, panel_app: FastAPI
    ) -> None:
        client = sign_in("instructor_x")
        api = TestClient(panel_app)
        answer = api.post("/api/auth/token/refresh", json={"refreshToken": session_token(client)})
        assert answer.status_code == 401
        # Presenting it there counts as theft: the panel session is over too.
        assert client.get("/admin/courses/list").status_code == 302
