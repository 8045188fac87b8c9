"""No response, log line or error message ever shows a password, a password hash, a refresh
token (beyond the answer that issues it) or a provider's access token."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import User
from tests.api.helpers import bearer, data
from tests.fakes.oauth_provider import FakeProvider
from tests.fakes.smtp import SmtpServer

PASSWORD = "first-Secret-pass-1"
NEW_PASSWORD = "second-Secret-pass-2"
GOOGLE_TOKEN = "ya29.provider-access-token-google"
FACEBOOK_TOKEN = "EAAB.provider-access-token-facebook"


def test_secrets_never_leak(
    auth_client: TestClient,
    oauth_provider: FakeProvider,
    smtp_server: SmtpServer,
    session: Session,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    answers: list[tuple[str, str]] = []  # (what was asked, what came back)

    def call(method: str, path: str, **kwargs: Any) -> Any:
        response = auth_client.request(method, path, **kwargs)
        answers.append((path, response.text))
        return response

    oauth_provider.issue(GOOGLE_TOKEN, provider="google", user_id="g-1", email="g@example.com")
    oauth_provider.issue(FACEBOOK_TOKEN, provider="facebook", user_id="f-1", email="f@example.com")

    registered = data(
        call(
            "POST",
            "/api/auth/user/register",
            json={"email": "ada@example.com", "password": PASSWORD, "name": "Ada"},
        )
    )
    call(
        "POST",
        "/api/auth/user/register",
        json={"email": "ada@example.com", "password": PASSWORD, "name": "Ada"},
    )
    call(
        "POST",
        "/api/auth/user/register",
        json={"email": "bad@example.com", "password": "short", "name": "Bad"},
    )
    call(
        "POST", "/api/auth/user/login", json={"email": "ada@example.com", "password": "wrong-pw-1"}
    )
    logged_in = data(
        call(
            "POST", "/api/auth/user/login", json={"email": "ada@example.com", "password": PASSWORD}
        )
    )
    refreshed = data(
        call("POST", "/api/auth/token/refresh", json={"refreshToken": logged_in["refreshToken"]})
    )
    call("POST", "/api/auth/token/refresh", json={"refreshToken": logged_in["refreshToken"]})
    call("GET", "/api/auth/user/profile", headers=bearer(registered["token"]))
    changed = data(
        call(
            "POST",
            "/api/auth/user/password",
            headers=bearer(registered["token"]),
            json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        )
    )
    call("POST", "/api/auth/user/logout", json={"refreshToken": changed["refreshToken"]})
    call("POST", "/api/auth/password/forgot", json={"email": "ada@example.com"})
    call(
        "POST",
        "/api/auth/user/login",
        json={"provider": "google", "providerUserId": "g-1", "accessToken": GOOGLE_TOKEN},
    )
    call(
        "POST",
        "/api/auth/user/login",
        json={"provider": "facebook", "providerUserId": "f-1", "accessToken": FACEBOOK_TOKEN},
    )
    call(
        "POST",
        "/api/auth/user/login",
        json={"provider": "google", "providerUserId": "g-1", "accessToken": GOOGLE_TOKEN + "x"},
    )
    smtp_server.mailbox.wait_for(2)

    hashes = session.scalars(select(User.password_hash)).all()
    issued = {
        registered["refreshToken"]: "/api/auth/user/register",
        logged_in["refreshToken"]: "/api/auth/user/login",
        refreshed["refreshToken"]: "/api/auth/token/refresh",
        changed["refreshToken"]: "/api/auth/user/password",
    }
    logs = caplog.text + "\n".join(str(record.msg) for record in caplog.records)
    assert len(logs) > 1000  # the flow did log; an empty capture would prove nothing

    never_anywhere = [PASSWORD, NEW_PASSWORD, "wrong-pw-1", GOOGLE_TOKEN, FACEBOOK_TOKEN, *hashes]
    for secret in never_anywhere:
        assert secret not in logs
        for path, text in answers:
            assert secret not in text, f"{path} answered with a secret"
    for token, issuer in issued.items():
        assert token not in logs
        leaking = [path for path, text in answers if token in text]
        assert leaking == [issuer], f"refresh token shown by {leaking}"
