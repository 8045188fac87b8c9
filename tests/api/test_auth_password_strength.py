"""Guessable passwords are refused wherever a password is set, with the reason."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.passwords import password_hasher
from models import User
from tests.api.helpers import PASSWORD, assert_error, bearer, register
from tests.conftest import FAKE_JWT_SECRET


def refused_because(response: object, field: str) -> str:
    body = assert_error(response, 400, "Invalid input data")
    [problem] = body["error"]["details"]
    assert problem["field"] == field
    message: str = problem["message"]
    assert message.startswith("is too easy to guess: ")
    return message


class TestGuessablePasswords:
    @pytest.mark.parametrize("password", ["password", "weakpassword", "Password123!"])
    def test_registration_refuses_them(self, auth_client: TestClient, password: str) -> None:
        answer = auth_client.post(
            "/api/auth/user/register",
            json={"email": "ada@example.com", "password": password, "name": "Ada"},
        )
        refused_because(answer, "password")

    def test_registration_refuses_the_users_own_name(self, auth_client: TestClient) -> None:
        answer = auth_client.post(
            "/api/auth/user/register",
            json={
                "email": "z@example.com",
                "password": "Zorblat Quintex",
                "name": "Zorblat Quintex",
            },
        )
        refused_because(answer, "password")

    def test_a_password_change_refuses_them(self, auth_client: TestClient) -> None:
        token = register(auth_client, "ada@example.com")["token"]
        answer = auth_client.post(
            "/api/auth/user/password",
            json={"currentPassword": PASSWORD, "newPassword": "weakpassword"},
            headers=bearer(token),
        )
        refused_because(answer, "password")

    def test_a_reset_refuses_them(self, auth_client: TestClient, session: Session) -> None:
        user_id = register(auth_client, "ada@example.com")["userId"]
        user = session.scalars(select(User).where(User.user_id == user_id)).one()
        token = jwt.encode(
            {
                "sub": str(user_id),
                "password_fgpt": password_hasher().hash(user.password_hash),
                "aud": "fastapi-users:reset",
                "exp": utcnow() + timedelta(minutes=5),
            },
            FAKE_JWT_SECRET,
            algorithm="HS256",
        )
        answer = auth_client.post(
            "/api/auth/password/reset", json={"token": token, "password": "weakpassword"}
        )
        refused_because(answer, "password")
