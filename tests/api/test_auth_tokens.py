"""Access tokens (15 minutes) and refresh tokens (single use, rotated, grouped in families)."""

from __future__ import annotations

import threading
from datetime import timedelta

import jwt
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from models import RefreshToken, User
from tests.api.helpers import assert_error, bearer, data, login, register
from tests.conftest import FAKE_JWT_SECRET

PROFILE = "/api/auth/user/profile"


def refresh(client: TestClient, token: str) -> object:
    return client.post("/api/auth/token/refresh", json={"refreshToken": token})


class TestAccessTokens:
    def test_missing_token_is_401(self, auth_client: TestClient) -> None:
        assert_error(auth_client.get(PROFILE), 401, "Authentication required")

    def test_garbage_and_tampered_tokens_are_401(self, auth_client: TestClient) -> None:
        token = register(auth_client, "ada@example.com")["token"]
        assert_error(
            auth_client.get(PROFILE, headers=bearer("not.a.jwt")), 401, "Authentication required"
        )
        tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        assert_error(
            auth_client.get(PROFILE, headers=bearer(tampered)), 401, "Authentication required"
        )

    def test_an_expired_token_is_401(self, auth_client: TestClient) -> None:
        user_id = register(auth_client, "ada@example.com")["userId"]
        expired = jwt.encode(
            {
                "sub": str(user_id),
                "aud": ["fastapi-users:auth"],
                "exp": utcnow() - timedelta(seconds=1),
            },
            FAKE_JWT_SECRET,
            algorithm="HS256",
        )
        assert_error(
            auth_client.get(PROFILE, headers=bearer(expired)), 401, "Authentication required"
        )

    def test_tokens_live_fifteen_minutes(self, auth_client: TestClient) -> None:
        token = register(auth_client, "ada@example.com")["token"]
        claims = jwt.decode(token, options={"verify_signature": False})
        lifetime = claims["exp"] - utcnow().timestamp()
        assert 14 * 60 < lifetime <= 15 * 60

    def test_a_deactivated_users_tokens_stop_working(
        self, auth_client: TestClient, session: Session
    ) -> None:
        body = register(auth_client, "ada@example.com")
        session.execute(update(User).where(User.user_id == body["userId"]).values(is_active=False))
        session.commit()
        assert_error(
            auth_client.get(PROFILE, headers=bearer(body["token"])), 401, "Authentication required"
        )
        assert_error(
            refresh(auth_client, body["refreshToken"]), 401, "Invalid or expired refresh token"
        )


class TestRefreshRotation:
    def test_a_refresh_token_buys_a_new_pair_once(self, auth_client: TestClient) -> None:
        first = register(auth_client, "ada@example.com")
        second = data(refresh(auth_client, first["refreshToken"]))
        assert second["message"] == "Token refreshed successfully"
        assert second["refreshToken"] != first["refreshToken"]
        assert (
            data(auth_client.get(PROFILE, headers=bearer(second["token"])))["userId"]
            == (first["userId"])
        )
        third = data(refresh(auth_client, second["refreshToken"]))
        assert third["refreshToken"] not in (first["refreshToken"], second["refreshToken"])

    def test_reusing_a_spent_token_revokes_the_whole_family(self, auth_client: TestClient) -> None:
        stolen = register(auth_client, "ada@example.com")["refreshToken"]
        legitimate = data(refresh(auth_client, stolen))["refreshToken"]
        assert_error(refresh(auth_client, stolen), 401, "Refresh token already used; sign in again")
        # The thief's replay also ends the legitimate holder's session of that family...
        assert_error(refresh(auth_client, legitimate), 401, "Invalid or expired refresh token")
        # ...but not the user's other sign-ins.
        other = data(login(auth_client, "ada@example.com"))["refreshToken"]
        assert data(refresh(auth_client, other))["refreshToken"]

    def test_an_expired_refresh_token_is_refused(
        self, auth_client: TestClient, session: Session
    ) -> None:
        token = register(auth_client, "ada@example.com")["refreshToken"]
        session.execute(update(RefreshToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
        assert_error(refresh(auth_client, token), 401, "Invalid or expired refresh token")

    def test_refresh_tokens_live_fourteen_days_and_are_stored_hashed(
        self, auth_client: TestClient, session: Session
    ) -> None:
        token = register(auth_client, "ada@example.com")["refreshToken"]
        row = session.scalars(select(RefreshToken)).one()
        assert row.token_hash != token
        assert token not in row.token_hash
        assert timedelta(days=13, hours=23) < row.expires_at - utcnow() <= timedelta(days=14)

    def test_an_unknown_refresh_token_is_refused(self, auth_client: TestClient) -> None:
        assert_error(refresh(auth_client, "made-up"), 401, "Invalid or expired refresh token")

    def test_concurrent_refreshes_with_one_token_let_exactly_one_win(
        self, auth_client: TestClient, backend: str
    ) -> None:
        token = register(auth_client, "ada@example.com")["refreshToken"]
        statuses: list[int] = []
        barrier = threading.Barrier(4)

        def attempt() -> None:
            barrier.wait()
            statuses.append(refresh(auth_client, token).status_code)  # type: ignore[attr-defined]

        threads = [threading.Thread(target=attempt) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200, 401, 401, 401]


class TestLogout:
    def test_logout_ends_the_session(self, auth_client: TestClient) -> None:
        token = register(auth_client, "ada@example.com")["refreshToken"]
        response = auth_client.post("/api/auth/user/logout", json={"refreshToken": token})
        assert data(response)["message"] == "Logged out successfully"
        assert_error(refresh(auth_client, token), 401, "Invalid or expired refresh token")

    def test_logout_with_an_unknown_token_reveals_nothing(self, auth_client: TestClient) -> None:
        response = auth_client.post("/api/auth/user/logout", json={"refreshToken": "made-up"})
        assert data(response)["message"] == "Logged out successfully"
