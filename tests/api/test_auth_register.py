"""POST /api/auth/user/register: a student account, signed in, or a clear refusal."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import RefreshToken, Role, User
from tests.api.helpers import PASSWORD, assert_error, bearer, data, invalid_fields, register
from tests.fakes.smtp import SmtpServer, bodies


class TestRegister:
    def test_creates_a_signed_in_student(self, auth_client: TestClient, session: Session) -> None:
        response = auth_client.post(
            "/api/auth/user/register",
            json={
                "email": "Ada@Example.com",
                "phone": "+2348031234567",
                "password": PASSWORD,
                "name": "Ada Obi",
                "avatarUrl": "https://images.example.com/ada.png",
            },
        )
        body = data(response)
        assert body["message"] == "User registered successfully"
        assert isinstance(body["userId"], int)
        assert body["token"].count(".") == 2  # a JWT
        assert body["refreshToken"]
        assert body["expiresIn"] == 15 * 60
        user = session.get(User, body["userId"])
        assert user is not None
        assert (user.email, user.role, user.username) == ("ada@example.com", Role.STUDENT, "ada")
        assert user.password_hash.startswith("$argon2id$")
        assert not user.is_verified
        profile = data(auth_client.get("/api/auth/user/profile", headers=bearer(body["token"])))
        assert profile["role"] == "student"

    def test_usernames_are_derived_and_unique(self, auth_client: TestClient) -> None:
        first = register(auth_client, "sam@example.com")
        second = register(auth_client, "sam@example.org")
        names = [
            data(auth_client.get("/api/auth/user/profile", headers=bearer(r["token"])))["username"]
            for r in (first, second)
        ]
        assert names == ["sam", "sam2"]

    def test_a_role_cannot_be_chosen(self, auth_client: TestClient, session: Session) -> None:
        response = auth_client.post(
            "/api/auth/user/register",
            json={"email": "eve@example.com", "password": PASSWORD, "name": "Eve", "role": "admin"},
        )
        assert invalid_fields(response) == ["role"]
        assert session.scalar(select(func.count()).select_from(User)) == 0

    def test_sends_an_email_verification_link(
        self, auth_client: TestClient, smtp_server: SmtpServer
    ) -> None:
        register(auth_client, "ver@example.com", name="Vera")
        [message] = smtp_server.mailbox.wait_for(1)
        assert message["To"] == "ver@example.com"
        assert message["Subject"] == "Confirm your email address for Online Learning Platform"
        text, html = bodies(message)
        assert "Hello Vera" in text
        assert "https://app.example.com/verify-email?token=" in text
        assert "Confirm my email" in html


class TestRegisterRefusals:
    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"email": "not-an-email"}, "email"),
            ({"password": "short"}, "password"),
            ({"password": "weak@example.com"}, "password"),
            ({"phone": "call me maybe"}, "phone"),
            ({"name": ""}, "name"),
            ({"avatarUrl": "javascript:alert(1)"}, "avatarUrl"),
            ({"email": None}, "email"),
        ],
    )
    def test_bad_input_is_400_and_creates_nothing(
        self, auth_client: TestClient, session: Session, changes: dict[str, object], field: str
    ) -> None:
        payload = {"email": "weak@example.com", "password": PASSWORD, "name": "Weak"} | changes
        response = auth_client.post("/api/auth/user/register", json=payload)
        assert invalid_fields(response) == [field]
        assert session.scalar(select(func.count()).select_from(User)) == 0

    def test_an_email_registers_once(self, auth_client: TestClient, session: Session) -> None:
        register(auth_client, "dup@example.com")
        response = auth_client.post(
            "/api/auth/user/register",
            json={"email": "DUP@example.com", "password": PASSWORD, "name": "Again"},
        )
        assert_error(response, 409, "Email already registered")
        assert session.scalar(select(func.count()).select_from(User)) == 1
        # The refused attempt left no half-made session behind either.
        assert session.scalar(select(func.count()).select_from(RefreshToken)) == 1

    def test_a_taken_username_is_409_and_nothing_is_created(
        self, auth_client: TestClient, session: Session
    ) -> None:
        register(auth_client, "one@example.com", username="taken_name")
        response = auth_client.post(
            "/api/auth/user/register",
            json={
                "email": "two@example.com",
                "password": PASSWORD,
                "name": "Two",
                "username": "taken_name",
            },
        )
        assert_error(response, 409, "Username already taken")
        assert session.scalar(select(func.count()).select_from(User)) == 1

    def test_the_answer_never_echoes_the_password(self, auth_client: TestClient) -> None:
        response = auth_client.post(
            "/api/auth/user/register",
            json={"email": "x@example.com", "password": "tiny", "name": "X"},
        )
        assert "tiny" not in response.text
        assert re.search(r"at least 8 characters", response.text)
