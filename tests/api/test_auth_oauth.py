"""Sign-in through Google and Facebook, verified by the server against the (fake) provider."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.crypto import TokenCipher
from models import User, UserAccount
from tests.api.helpers import assert_error, bearer, data, login, register
from tests.conftest import FAKE_ENCRYPTION_KEY
from tests.fakes.oauth_provider import FakeProvider


def oauth_login(client: TestClient, provider: str, user_id: str, token: str) -> object:
    return client.post(
        "/api/auth/user/login",
        json={"provider": provider, "providerUserId": user_id, "accessToken": token},
    )


class TestGoogle:
    def test_a_new_user_is_created_verified_and_linked(
        self, auth_client: TestClient, oauth_provider: FakeProvider, session: Session
    ) -> None:
        oauth_provider.issue(
            "g-token-1",
            provider="google",
            user_id="g-1",
            email="Grace@Example.com",
            name="Grace Hopper",
        )
        body = data(oauth_login(auth_client, "google", "g-1", "g-token-1"))
        assert body["message"] == "Login successful"
        profile = data(auth_client.get("/api/auth/user/profile", headers=bearer(body["token"])))
        assert (profile["email"], profile["name"], profile["role"]) == (
            "grace@example.com",
            "Grace Hopper",
            "student",
        )
        assert profile["avatarUrl"] == "https://images.example.com/avatar.png"
        user = session.get(User, body["userId"])
        assert user is not None
        assert user.is_verified
        account = session.scalars(select(UserAccount)).one()
        assert (account.provider, account.provider_user_id) == ("google", "g-1")

    def test_the_same_identity_signs_in_to_the_same_user(
        self, auth_client: TestClient, oauth_provider: FakeProvider, session: Session
    ) -> None:
        oauth_provider.issue("t1", provider="google", user_id="g-7", email="g7@example.com")
        oauth_provider.issue("t2", provider="google", user_id="g-7", email="g7@example.com")
        first = data(oauth_login(auth_client, "google", "g-7", "t1"))["userId"]
        second = data(oauth_login(auth_client, "google", "g-7", "t2"))["userId"]
        assert first == second
        assert session.scalar(select(func.count()).select_from(UserAccount)) == 1

    def test_links_an_existing_user_by_verified_email(
        self, auth_client: TestClient, oauth_provider: FakeProvider, session: Session
    ) -> None:
        existing = register(auth_client, "ada@example.com")["userId"]
        oauth_provider.issue("t", provider="google", user_id="g-ada", email="ada@example.com")
        assert data(oauth_login(auth_client, "google", "g-ada", "t"))["userId"] == existing
        assert session.scalar(select(func.count()).select_from(User)) == 1

    def test_an_unverified_email_never_takes_over_an_account(
        self, auth_client: TestClient, oauth_provider: FakeProvider, session: Session
    ) -> None:
        register(auth_client, "victim@example.com")
        oauth_provider.issue(
            "t", provider="google", user_id="g-x", email="victim@example.com", email_verified=False
        )
        response = oauth_login(auth_client, "google", "g-x", "t")
        assert response.status_code == 409  # type: ignore[attr-defined]
        assert session.scalar(select(func.count()).select_from(UserAccount)) == 0

    def test_a_token_the_provider_rejects_is_401(
        self, auth_client: TestClient, oauth_provider: FakeProvider, session: Session
    ) -> None:
        assert_error(
            oauth_login(auth_client, "google", "g-1", "forged"), 401, "Invalid credentials"
        )
        assert session.scalar(select(func.count()).select_from(User)) == 0

    def test_the_clients_provider_user_id_is_not_trusted(
        self, auth_client: TestClient, oauth_provider: FakeProvider
    ) -> None:
        oauth_provider.issue("t", provider="google", user_id="g-real", email="r@example.com")
        assert_error(
            oauth_login(auth_client, "google", "g-someone-else", "t"), 401, "Invalid credentials"
        )

    def test_a_token_issued_to_another_app_is_401(
        self, auth_client: TestClient, oauth_provider: FakeProvider
    ) -> None:
        oauth_provider.issue(
            "t",
            provider="google",
            user_id="g-1",
            email="a@example.com",
            audience="some-other-app.example.com",
        )
        assert_error(oauth_login(auth_client, "google", "g-1", "t"), 401, "Invalid credentials")

    def test_provider_tokens_are_encrypted_at_rest(
        self, auth_client: TestClient, oauth_provider: FakeProvider, session: Session
    ) -> None:
        oauth_provider.issue(
            "secret-provider-token", provider="google", user_id="g-1", email="a@example.com"
        )
        data(oauth_login(auth_client, "google", "g-1", "secret-provider-token"))
        stored = session.scalars(select(UserAccount.access_token)).one()
        assert stored is not None
        assert "secret-provider-token" not in stored
        assert TokenCipher(FAKE_ENCRYPTION_KEY).decrypt(stored) == "secret-provider-token"

    def test_a_provider_outage_is_503(
        self, auth_client: TestClient, oauth_provider: FakeProvider
    ) -> None:
        oauth_provider.issue("t", provider="google", user_id="g-1", email="a@example.com")
        oauth_provider.down = True
        assert_error(
            oauth_login(auth_client, "google", "g-1", "t"),
            503,
            "The sign-in provider is unavailable; try again shortly",
        )


class TestTakeover:
    def test_a_stranger_who_registered_your_address_first_loses_it(
        self, auth_client: TestClient, oauth_provider: FakeProvider, session: Session
    ) -> None:
        squatter = register(auth_client, "owner@example.com")
        oauth_provider.issue("t", provider="google", user_id="g-owner", email="owner@example.com")
        body = data(oauth_login(auth_client, "google", "g-owner", "t"))
        assert body["userId"] == squatter["userId"]
        assert_error(login(auth_client, "owner@example.com"), 401, "Invalid credentials")
        stale = auth_client.post(
            "/api/auth/token/refresh", json={"refreshToken": squatter["refreshToken"]}
        )
        assert stale.status_code == 401
        user = session.get(User, body["userId"])
        assert user is not None
        session.refresh(user)
        assert user.is_verified


class TestNotConfigured:
    def test_providers_without_a_client_id_are_off(
        self, auth_settings: object, oauth_provider: FakeProvider
    ) -> None:
        from api.app import create_app
        from core.settings import Settings

        assert isinstance(auth_settings, Settings)
        oauth = auth_settings.oauth.model_copy(update={"google_client_id": ""})
        oauth_provider.issue("t", provider="google", user_id="g-1", email="a@example.com")
        with TestClient(create_app(auth_settings.model_copy(update={"oauth": oauth}))) as client:
            assert_error(
                oauth_login(client, "google", "g-1", "t"),
                503,
                "Sign-in with Google is not available",
            )


class TestFacebook:
    def test_a_new_user_is_created_and_linked(
        self, auth_client: TestClient, oauth_provider: FakeProvider, session: Session
    ) -> None:
        oauth_provider.issue(
            "fb-t", provider="facebook", user_id="fb-1", email="f@example.com", name="Fola"
        )
        body = data(oauth_login(auth_client, "facebook", "fb-1", "fb-t"))
        account = session.scalars(select(UserAccount)).one()
        assert (account.provider, account.provider_user_id, account.user_id) == (
            "facebook",
            "fb-1",
            body["userId"],
        )

    def test_a_token_for_another_app_is_401(
        self, auth_client: TestClient, oauth_provider: FakeProvider
    ) -> None:
        oauth_provider.issue(
            "fb-t", provider="facebook", user_id="fb-1", email="f@example.com", audience="999"
        )
        assert_error(
            oauth_login(auth_client, "facebook", "fb-1", "fb-t"), 401, "Invalid credentials"
        )

    def test_no_shared_email_is_a_clear_400(
        self, auth_client: TestClient, oauth_provider: FakeProvider
    ) -> None:
        oauth_provider.issue("fb-t", provider="facebook", user_id="fb-2", email=None)
        response = oauth_login(auth_client, "facebook", "fb-2", "fb-t")
        body = assert_error(response, 400, "Invalid input data")
        assert body["error"]["details"][0]["field"] == "accessToken"

    def test_an_unknown_provider_is_400(self, auth_client: TestClient) -> None:
        assert_error(oauth_login(auth_client, "myspace", "1", "t"), 400, "Invalid input data")
