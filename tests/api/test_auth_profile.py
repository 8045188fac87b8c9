"""GET and PUT /api/auth/user/profile."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import assert_error, bearer, data, invalid_fields, register

PROFILE = "/api/auth/user/profile"


@pytest.fixture
def token(auth_client: TestClient) -> str:
    return str(register(auth_client, "ada@example.com", name="Ada Obi")["token"])


class TestProfile:
    def test_has_the_seeds_shape(self, auth_client: TestClient, token: str) -> None:
        profile = data(auth_client.get(PROFILE, headers=bearer(token)))
        assert set(profile) == {"userId", "username", "email", "name", "avatarUrl", "role"}
        assert profile["name"] == "Ada Obi"
        assert profile["avatarUrl"] is None

    def test_updates_name_and_avatar(self, auth_client: TestClient, token: str) -> None:
        response = auth_client.put(
            PROFILE,
            json={"name": "Ada O.", "avatarUrl": "https://images.example.com/a.jpg"},
            headers=bearer(token),
        )
        body = data(response)
        assert body["message"] == "Profile updated successfully"
        profile = data(auth_client.get(PROFILE, headers=bearer(token)))
        assert (profile["name"], profile["avatarUrl"]) == (
            "Ada O.",
            "https://images.example.com/a.jpg",
        )
        assert profile["userId"] == body["userId"]

    def test_a_null_avatar_clears_it(self, auth_client: TestClient, token: str) -> None:
        auth_client.put(
            PROFILE, json={"avatarUrl": "https://x.example.com/a.png"}, headers=bearer(token)
        )
        data(auth_client.put(PROFILE, json={"avatarUrl": None}, headers=bearer(token)))
        assert data(auth_client.get(PROFILE, headers=bearer(token)))["avatarUrl"] is None

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({"name": "   "}, "name"),
            ({"name": "x" * 101}, "name"),
            ({"avatarUrl": "ftp://example.com/a.png"}, "avatarUrl"),
            ({"avatarUrl": "not a url"}, "avatarUrl"),
            ({"avatarUrl": "https://example.com/" + "a" * 250}, "avatarUrl"),
            ({}, "body"),
            ({"role": "admin"}, "role"),
        ],
    )
    def test_bad_values_are_400_and_change_nothing(
        self, auth_client: TestClient, token: str, payload: dict[str, object], field: str
    ) -> None:
        assert invalid_fields(auth_client.put(PROFILE, json=payload, headers=bearer(token))) == [
            field
        ]
        profile = data(auth_client.get(PROFILE, headers=bearer(token)))
        assert (profile["name"], profile["role"]) == ("Ada Obi", "student")

    def test_requires_a_token(self, auth_client: TestClient) -> None:
        assert_error(auth_client.put(PROFILE, json={"name": "X"}), 401, "Authentication required")
