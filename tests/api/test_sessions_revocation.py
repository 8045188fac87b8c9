"""Access tokens belong to their sign-in: ending the sign-in ends them at once.

An access token names its refresh-token family (claim ``sid``); each request loads the user
only while that family is alive and the user active. Logout, a password change or reset and
deactivation therefore end access tokens immediately, not when they expire.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.passwords import password_hasher
from models import User
from tests.api.helpers import PASSWORD, assert_error, bearer, data, login, register
from tests.conftest import FAKE_JWT_SECRET

PROFILE = "/api/auth/user/profile"
NEW_PASSWORD = "a-brand-new-passphrase"
REFUSED = "Authentication required"


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def signed(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, FAKE_JWT_SECRET, algorithm="HS256")


def access_claims(user_id: object, sid: str, **extra: Any) -> dict[str, Any]:
    return {
        "sub": str(user_id),
        "aud": ["fastapi-users:auth"],
        "exp": utcnow() + timedelta(minutes=5),
        "sid": sid,
    } | extra


def profile(client: TestClient, token: str) -> Any:
    return client.get(PROFILE, headers=bearer(token))


class TestLogoutEndsTheAccessToken:
    def test_the_access_token_of_a_signed_out_session_is_refused_at_once(
        self, auth_client: TestClient
    ) -> None:
        body = register(auth_client, "ada@example.com")
        assert data(profile(auth_client, body["token"]))["userId"] == body["userId"]
        auth_client.post("/api/auth/user/logout", json={"refreshToken": body["refreshToken"]})
        assert_error(profile(auth_client, body["token"]), 401, REFUSED)

    def test_other_sign_ins_of_the_user_keep_working(self, auth_client: TestClient) -> None:
        first = register(auth_client, "ada@example.com")
        second = data(login(auth_client, "ada@example.com"))
        auth_client.post("/api/auth/user/logout", json={"refreshToken": first["refreshToken"]})
        assert data(profile(auth_client, second["token"]))["userId"] == first["userId"]

    def test_a_refreshed_pair_belongs_to_the_same_sign_in(self, auth_client: TestClient) -> None:
        first = register(auth_client, "ada@example.com")
        second = data(
            auth_client.post(
                "/api/auth/token/refresh", json={"refreshToken": first["refreshToken"]}
            )
        )
        assert claims_of(second["token"])["sid"] == claims_of(first["token"])["sid"]
        auth_client.post("/api/auth/user/logout", json={"refreshToken": second["refreshToken"]})
        assert_error(profile(auth_client, first["token"]), 401, REFUSED)
        assert_error(profile(auth_client, second["token"]), 401, REFUSED)


class TestPasswordChangesEndEverySignIn:
    def test_a_password_change_ends_every_earlier_access_token(
        self, auth_client: TestClient
    ) -> None:
        first = register(auth_client, "ada@example.com")
        response = auth_client.post(
            "/api/auth/user/password",
            json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
            headers=bearer(first["token"]),
        )
        fresh = data(response)
        # The caller keeps going with the new pair in the answer; the old token is over.
        assert_error(profile(auth_client, first["token"]), 401, REFUSED)
        assert data(profile(auth_client, fresh["token"]))["userId"] == first["userId"]

    def test_a_password_reset_ends_every_access_token(
        self, auth_client: TestClient, session: Session
    ) -> None:
        body = register(auth_client, "ada@example.com")
        user = session.scalars(select(User).where(User.user_id == body["userId"])).one()
        reset = signed(
            {
                "sub": str(user.user_id),
                "password_fgpt": password_hasher().hash(user.password_hash),
                "aud": "fastapi-users:reset",
                "exp": utcnow() + timedelta(minutes=5),
            }
        )
        answer = auth_client.post(
            "/api/auth/password/reset", json={"token": reset, "password": NEW_PASSWORD}
        )
        assert data(answer)["message"] == "Password reset successfully"
        assert_error(profile(auth_client, body["token"]), 401, REFUSED)


class TestTokensFromBeforeTheUpgrade:
    def test_an_access_token_without_a_sign_in_is_refused(self, auth_client: TestClient) -> None:
        body = register(auth_client, "ada@example.com")
        legacy = access_claims(body["userId"], "x")
        del legacy["sid"]
        assert_error(profile(auth_client, signed(legacy)), 401, REFUSED)

    def test_a_sign_in_of_another_user_is_refused(
        self, auth_client: TestClient, session: Session
    ) -> None:
        ada = register(auth_client, "ada@example.com")
        bob = register(auth_client, "bob@example.com")
        borrowed = access_claims(ada["userId"], claims_of(bob["token"])["sid"])
        assert_error(profile(auth_client, signed(borrowed)), 401, REFUSED)

    def test_an_unknown_sign_in_is_refused(self, auth_client: TestClient) -> None:
        body = register(auth_client, "ada@example.com")
        token = signed(access_claims(body["userId"], "00000000-0000-0000-0000-000000000000"))
        assert_error(profile(auth_client, token), 401, REFUSED)

    def test_a_deactivated_users_live_sign_in_is_refused(
        self, auth_client: TestClient, session: Session
    ) -> None:
        body = register(auth_client, "ada@example.com")
        session.execute(update(User).where(User.user_id == body["userId"]).values(is_active=False))
        session.commit()
        assert_error(profile(auth_client, body["token"]), 401, REFUSED)


class TestAccessTokenClaims:
    def test_a_token_without_exp_is_refused(self, auth_client: TestClient) -> None:
        body = register(auth_client, "ada@example.com")
        claims = access_claims(body["userId"], claims_of(body["token"])["sid"])
        del claims["exp"]
        assert_error(profile(auth_client, signed(claims)), 401, REFUSED)

    @pytest.mark.parametrize("sub", ["1" * 20, "0", "-1", "1e3", " 1", "2147483648", "\u0661"])
    def test_a_sub_that_is_no_user_id_is_refused(self, auth_client: TestClient, sub: str) -> None:
        body = register(auth_client, "ada@example.com")
        token = signed(access_claims(sub, claims_of(body["token"])["sid"]))
        assert_error(profile(auth_client, token), 401, REFUSED)

    def test_a_sub_that_is_no_user_id_is_refused_by_the_data_api_too(
        self, auth_client: TestClient
    ) -> None:
        body = register(auth_client, "ada@example.com")
        token = signed(access_claims("9" * 20, claims_of(body["token"])["sid"]))
        answer = auth_client.get("/api/data/courses", headers=bearer(token))
        assert_error(answer, 401, REFUSED)


class TestSingleUseTokenClaims:
    """Password-reset and email-verification tokens must end, and name a real user id."""

    def test_a_reset_token_without_exp_is_refused(
        self, auth_client: TestClient, session: Session
    ) -> None:
        body = register(auth_client, "ada@example.com")
        user = session.scalars(select(User).where(User.user_id == body["userId"])).one()
        reset = signed(
            {
                "sub": str(user.user_id),
                "password_fgpt": password_hasher().hash(user.password_hash),
                "aud": "fastapi-users:reset",
            }
        )
        answer = auth_client.post(
            "/api/auth/password/reset", json={"token": reset, "password": NEW_PASSWORD}
        )
        assert assert_error(answer, 400, "Invalid input data")["error"]["details"][0]["field"] == (
            "token"
        )

    def test_a_reset_token_with_a_huge_sub_is_refused(self, auth_client: TestClient) -> None:
        reset = signed(
            {
                "sub": "9" * 20,
                "password_fgpt": "x",
                "aud": "fastapi-users:reset",
                "exp": utcnow() + timedelta(minutes=5),
            }
        )
        answer = auth_client.post(
            "/api/auth/password/reset", json={"token": reset, "password": NEW_PASSWORD}
        )
        assert_error(answer, 400, "Invalid input data")

    def test_a_verification_token_without_exp_is_refused(self, auth_client: TestClient) -> None:
        body = register(auth_client, "ada@example.com")
        verify = signed(
            {"sub": str(body["userId"]), "email": "ada@example.com", "aud": "fastapi-users:verify"}
        )
        answer = auth_client.post("/api/auth/verify", json={"token": verify})
        assert_error(answer, 400, "Invalid input data")
