"""Changing, resetting (by email, through the job worker) and verifying."""

from __future__ import annotations

import re
from email.message import EmailMessage

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import User
from tests.api.helpers import PASSWORD, assert_error, bearer, data, invalid_fields, login, register
from tests.fakes.smtp import SmtpServer, bodies

NEW_PASSWORD = "a-brand-new-passphrase"


def token_in(message: EmailMessage) -> str:
    text, html = bodies(message)
    match = re.search(r"\?token=([A-Za-z0-9._\-%]+)", text)
    assert match, text
    assert match.group(1) in html
    return match.group(1)


class TestChangePassword:
    def test_changes_it_and_ends_other_sessions(self, auth_client: TestClient) -> None:
        first = register(auth_client, "ada@example.com")
        response = auth_client.post(
            "/api/auth/user/password",
            json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
            headers=bearer(first["token"]),
        )
        body = data(response)
        assert body["message"] == "Password changed successfully"
        assert_error(login(auth_client, "ada@example.com"), 401, "Invalid credentials")
        assert data(login(auth_client, "ada@example.com", NEW_PASSWORD))
        old = auth_client.post(
            "/api/auth/token/refresh", json={"refreshToken": first["refreshToken"]}
        )
        assert_error(old, 401, "Invalid or expired refresh token")
        assert data(
            auth_client.post("/api/auth/token/refresh", json={"refreshToken": body["refreshToken"]})
        )

    def test_the_current_password_must_be_right(self, auth_client: TestClient) -> None:
        token = register(auth_client, "ada@example.com")["token"]
        response = auth_client.post(
            "/api/auth/user/password",
            json={"currentPassword": "not-it-at-all", "newPassword": NEW_PASSWORD},
            headers=bearer(token),
        )
        assert invalid_fields(response) == ["currentPassword"]
        assert data(login(auth_client, "ada@example.com"))

    def test_the_new_password_follows_the_rules(self, auth_client: TestClient) -> None:
        token = register(auth_client, "ada@example.com")["token"]
        response = auth_client.post(
            "/api/auth/user/password",
            json={"currentPassword": PASSWORD, "newPassword": "short"},
            headers=bearer(token),
        )
        assert invalid_fields(response) == ["password"]


class TestPasswordReset:
    def test_the_emailed_link_resets_the_password_once(
        self, auth_client: TestClient, smtp_server: SmtpServer
    ) -> None:
        session_before = register(auth_client, "ada@example.com", name="Ada")
        smtp_server.mailbox.wait_for(1)  # the verification email
        response = auth_client.post("/api/auth/password/forgot", json={"email": "ada@example.com"})
        assert response.status_code == 202
        assert data(response, 202)["message"].startswith("If an account exists")
        reset_email = smtp_server.mailbox.wait_for(2)[-1]
        assert reset_email["Subject"] == "Reset your Online Learning Platform password"
        text, _ = bodies(reset_email)
        assert "https://app.example.com/reset-password?token=" in text
        token = token_in(reset_email)

        done = auth_client.post(
            "/api/auth/password/reset", json={"token": token, "password": NEW_PASSWORD}
        )
        assert data(done)["message"] == "Password reset successfully"
        assert data(login(auth_client, "ada@example.com", NEW_PASSWORD))
        assert_error(login(auth_client, "ada@example.com"), 401, "Invalid credentials")
        # Every session from before the reset is over.
        old = auth_client.post(
            "/api/auth/token/refresh", json={"refreshToken": session_before["refreshToken"]}
        )
        assert_error(old, 401, "Invalid or expired refresh token")
        # The link works once: the password it was made for has changed.
        again = auth_client.post(
            "/api/auth/password/reset", json={"token": token, "password": "yet-another-pass"}
        )
        assert invalid_fields(again) == ["token"]

    def test_an_unknown_email_gets_the_same_answer_and_no_email(
        self, auth_client: TestClient, smtp_server: SmtpServer
    ) -> None:
        response = auth_client.post("/api/auth/password/forgot", json={"email": "no@example.com"})
        assert data(response, 202)["message"].startswith("If an account exists")
        assert smtp_server.mailbox.messages == []

    def test_a_forged_token_is_refused(self, auth_client: TestClient) -> None:
        response = auth_client.post(
            "/api/auth/password/reset", json={"token": "forged", "password": NEW_PASSWORD}
        )
        assert invalid_fields(response) == ["token"]

    def test_the_new_password_follows_the_rules(
        self, auth_client: TestClient, smtp_server: SmtpServer
    ) -> None:
        register(auth_client, "ada@example.com")
        auth_client.post("/api/auth/password/forgot", json={"email": "ada@example.com"})
        token = token_in(smtp_server.mailbox.wait_for(2)[-1])
        response = auth_client.post(
            "/api/auth/password/reset", json={"token": token, "password": "ada@example.com"}
        )
        assert invalid_fields(response) == ["password"]


class TestEmailVerification:
    def test_the_emailed_link_verifies_the_address(
        self, auth_client: TestClient, smtp_server: SmtpServer, session: Session
    ) -> None:
        register(auth_client, "ada@example.com")
        token = token_in(smtp_server.mailbox.wait_for(1)[0])
        response = auth_client.post("/api/auth/verify", json={"token": token})
        assert data(response)["message"] == "Email verified successfully"
        user = session.scalars(select(User).where(User.email == "ada@example.com")).one()
        assert user.is_verified
        assert_error(
            auth_client.post("/api/auth/verify", json={"token": token}),
            409,
            "Email already verified",
        )

    def test_a_new_link_can_be_requested(
        self, auth_client: TestClient, smtp_server: SmtpServer
    ) -> None:
        access = register(auth_client, "ada@example.com")["token"]
        smtp_server.mailbox.wait_for(1)
        response = auth_client.post("/api/auth/verify/request", headers=bearer(access))
        assert data(response, 202)["message"] == "Verification email sent"
        assert len(smtp_server.mailbox.wait_for(2)) == 2

    def test_a_forged_token_is_refused(self, auth_client: TestClient) -> None:
        assert invalid_fields(auth_client.post("/api/auth/verify", json={"token": "x.y.z"})) == [
            "token"
        ]
