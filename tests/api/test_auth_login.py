"""POST /api/auth/user/login with email and password."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from models import User
from tests.api.helpers import PASSWORD, assert_error, bearer, data, invalid_fields, login, register


class TestPasswordLogin:
    def test_signs_in_with_a_token_pair(self, auth_client: TestClient) -> None:
        user_id = register(auth_client, "ada@example.com")["userId"]
        body = data(login(auth_client, "ADA@example.com"))
        assert body["userId"] == user_id
        assert body["message"] == "Login successful"
        profile = data(auth_client.get("/api/auth/user/profile", headers=bearer(body["token"])))
        assert profile["email"] == "ada@example.com"

    def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(
        self, auth_client: TestClient
    ) -> None:
        register(auth_client, "ada@example.com")
        wrong = assert_error(
            login(auth_client, "ada@example.com", "wrong-password"), 401, "Invalid credentials"
        )
        unknown = assert_error(login(auth_client, "nobody@example.com"), 401, "Invalid credentials")
        assert wrong["error"] == unknown["error"]

    def test_a_malformed_email_is_just_invalid_credentials(self, auth_client: TestClient) -> None:
        assert_error(login(auth_client, "not-an-email"), 401, "Invalid credentials")

    def test_a_deactivated_user_cannot_sign_in(
        self, auth_client: TestClient, session: Session
    ) -> None:
        user_id = register(auth_client, "gone@example.com")["userId"]
        session.execute(update(User).where(User.user_id == user_id).values(is_active=False))
        session.commit()
        assert_error(login(auth_client, "gone@example.com"), 401, "Invalid credentials")

    def test_an_account_made_through_oauth_has_no_password_to_guess(
        self, auth_client: TestClient, session: Session
    ) -> None:
        from services.users import create_user

        user = create_user(session, email="oauth@example.com", name="O")
        session.commit()
        assert_error(
            login(auth_client, "oauth@example.com", user.password_hash), 401, "Invalid credentials"
        )

    def test_missing_or_mixed_fields_are_400(self, auth_client: TestClient) -> None:
        response = auth_client.post("/api/auth/user/login", json={"email": "a@example.com"})
        assert_error(response, 400, "Invalid input data")
        mixed = {"email": "a@example.com", "password": PASSWORD, "provider": "google"}
        assert invalid_fields(auth_client.post("/api/auth/user/login", json=mixed))
