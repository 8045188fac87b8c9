"""What the schemathesis run (tests/fuzz, ``make fuzz``) found, each pinned by the request
that showed it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import assert_error, invalid_fields
from tests.world import World, world

__all__ = ["world"]


class TestNulInFilters:
    """``GET /api/data/users?name=a%00b`` was a 500 on PostgreSQL ("text fields cannot
    contain NUL bytes"): a filter value is text the writes would refuse, so it is refused
    the same way, naming the parameter, on every backend."""

    @pytest.mark.parametrize(
        "parameter", ["name", "name__ne", "name__contains", "name__icontains", "name__in"]
    )
    def test_a_nul_in_a_text_filter_is_a_400_naming_the_parameter(
        self, client: TestClient, world: World, parameter: str
    ) -> None:
        answer = client.get(
            "/api/data/users", params={parameter: "a\x00b"}, headers=world.headers("admin")
        )
        body = assert_error(answer, 400, "Invalid input data")
        assert body["error"]["details"] == [
            {"field": parameter, "message": "must not contain NUL characters"}
        ]

    def test_a_nul_in_a_number_filter_is_a_400_too(self, client: TestClient, world: World) -> None:
        answer = client.get(
            "/api/data/courses/count",
            params={"price__lte": "1\x00"},
            headers=world.headers("admin"),
        )
        assert_error(answer, 400, "Invalid input data")


class TestStrictTypesInBodies:
    """The hand-written endpoints' bodies take numbers and booleans as JSON has them, as the
    data API's do: ``{"push": 0}`` was stored as false, ``{"userId": "7"}`` sent a
    notification to user 7, and ``{"userId": true}`` one to user 1."""

    @pytest.mark.parametrize("value", [0, 1, "true", "false"])
    def test_preferences_refuse_what_is_not_a_boolean(
        self, client: TestClient, world: World, value: object
    ) -> None:
        answer = client.put(
            "/api/notifications/preferences",
            json={"push": value},
            headers=world.headers("student_a"),
        )
        assert invalid_fields(answer) == ["push"]

    @pytest.mark.parametrize("spelling", [str, float])
    def test_a_notification_goes_to_a_user_id_that_is_a_number(
        self, client: TestClient, world: World, spelling: type
    ) -> None:
        # A real user's id, spelled as text or as a float: refused for its type, not for
        # naming nobody.
        user_id = spelling(world.users["student_a"])
        answer = client.post(
            "/api/notifications/send",
            json={"userId": user_id, "type": "in_app", "message": "hello"},
            headers=world.headers("admin"),
        )
        assert invalid_fields(answer) == ["userId"]
